"""Real recorded speech and music, offline, from Debian's Asterisk prompt packages.

Keyword spotters trained on synthetic speech fire on real speech they never heard. Debian ships
thousands of professionally recorded telephone prompts in other languages; none of them says an
English keyword, so every second of them is a true non-keyword (``_unknown_``) and a fair
false-alarm stream. The packages (8 kHz, 16-bit WAV) are fetched with ``apt-get download`` at a
pinned version, checked against the sha256 Debian's signed index gives for that version, and
unpacked with ``dpkg-deb -x`` into a cache folder (``$EDGERNN_REAL_SPEECH``, else
``~/.cache/edgernn/real-speech``): nothing is installed, nothing in them is run. Every WAV read
goes through :func:`edgernn.data.wav.read_wav` (bounded size, rate, channels and duration).

Speakers are split once, here, and never chosen on test data:
- training speakers: their prompts become ``_unknown_`` clips and long backgrounds in training;
- the validation speaker: ``_unknown_`` clips of the validation split (choosing shares, thresholds);
- held-out speakers: only the false-alarm stream (``streaming-eval --real-speech-minutes``) hears
  them, mixed with held-out music and noise.
es_MX_f_Allison is held out on purpose: the same voice actress recorded the English prompts,
which the project keeps for its external acceptance test. **The English packages
(``asterisk-core-sounds-en*``) are never fetched, read or used here.** The GSM-only prompt
packages (``asterisk-prompt-fr-armelle``, ``asterisk-prompt-es-co``) are not used: headerless GSM
is not WAV and libsndfile does not read it.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgernn import defaults as D
from edgernn.errors import UserError
from edgernn.io import sha256_file

REAL_SPEECH_ENV = "EDGERNN_REAL_SPEECH"
ROLES = ("train", "val", "heldout")
MAX_DEB_BYTES = 64 * 1024 ** 2  # the largest used is 24 MB
MAX_FILES_PER_SOURCE = 5000


@dataclass(frozen=True)
class Source:
    """One speaker (or music set) inside one pinned Debian package."""
    name: str          # speaker id used in clip names
    package: str
    version: str
    sha256: str        # of the .deb, as Debian's signed Packages index lists it for this version
    folder: str        # inside the package
    kind: str          # "speech" | "music"
    role: str          # "train" | "val" | "heldout"; music: per file, see MUSIC_ROLES


SOURCES: tuple[Source, ...] = (
    Source("fr-june", "asterisk-core-sounds-fr-wav", "1.6.1-1",
           "8d4e1bc32ed5ba7fbda40841ca1825ed20cc6232724a473c90f8bb0e53e6073e",
           "usr/share/asterisk/sounds/fr_CA_f_June", "speech", "train"),
    Source("it-carlo", "asterisk-core-sounds-it-wav", "1.6.1-1",
           "5a26638089e134b8ac39363fe249c5c93c50cd8bfdc9b2499ae61ec4a35e2fcb",
           "usr/share/asterisk/sounds/it_IT_m_Carlo", "speech", "train"),
    Source("it-menardi", "asterisk-prompt-it-menardi-wav", "1:1.4.22+mm20110907-3.1",
           "3094530d98f8758ac275572d59624c41f60969fef883f34f4886d144f3dfeb21",
           "usr/share/asterisk/sounds/it_IT_f_Menardi", "speech", "val"),
    Source("ru-ivrvoice", "asterisk-core-sounds-ru-wav", "1.6.1-1",
           "ccbfaebfa450b7a9ddf644ae0f3d1e9017d5df7c0aebe816e946345589d38201",
           "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU", "speech", "heldout"),
    Source("es-allison", "asterisk-core-sounds-es-wav", "1.6.1-1",
           "9283a09a6d56fccdcc2bcfe86c48f0f844289cfbd46a3184d8785a6f7f569903",
           "usr/share/asterisk/sounds/es_MX_f_Allison", "speech", "heldout"),
    Source("moh-opsound", "asterisk-moh-opsound-wav", "2.03-1.1",
           "8f9d808a729d305c2d3343993f21ca5e6829e411682618dc8ea7aa8bc24a566c",
           "usr/share/asterisk/moh", "music", "train"),
)
# Music on hold: five pieces; two are kept for the held-out stream only.
MUSIC_HELDOUT = ("macroform-the_simplicity.wav", "reno_project-system.wav")
FORBIDDEN_PREFIX = "asterisk-core-sounds-en"  # the project's external acceptance test
SKIP_FOLDERS = ("silence",)                    # prompt packages ship silence files


def cache_dir() -> Path:
    env = os.environ.get(REAL_SPEECH_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "edgernn" / "real-speech"


def _check_source(src: Source) -> None:
    if src.package.startswith(FORBIDDEN_PREFIX):
        raise UserError(f"{src.package}: reserved for the external acceptance test, never used")


def deb_name(src: Source) -> str:
    return f"{src.package}_{src.version.replace(':', '%3a')}_all.deb"


def fetch_command() -> str:
    return "edgernn data real-speech --fetch"


def package_dir(src: Source) -> Path:
    return cache_dir() / src.package


def is_fetched(src: Source) -> bool:
    return (package_dir(src) / ".complete").is_file()


def check_deb(path: Path, src: Source) -> None:
    """Refuse a .deb that is too large or whose sha256 is not the pinned one."""
    if not path.is_file():
        raise UserError(f"{path}: not found")
    if path.stat().st_size > MAX_DEB_BYTES:
        raise UserError(f"{path}: {path.stat().st_size} bytes, more than the {MAX_DEB_BYTES} allowed for a package")
    if sha256_file(path) != src.sha256:
        raise UserError(f"{path}: sha256 differs from the pinned {src.package} {src.version}; delete it and fetch again")


def unpack(deb: Path, src: Source) -> Path:
    """Check ``deb`` and unpack it (``dpkg-deb -x``) into the cache; all or nothing."""
    _check_source(src)
    check_deb(deb, src)
    final = package_dir(src)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{src.package}.", dir=final.parent))
    try:
        r = subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise UserError(f"{deb}: dpkg-deb -x failed ({(r.stderr.strip().splitlines() or ['?'])[-1][:160]})")
        (tmp / ".complete").write_text(f"{src.package} {src.version} {src.sha256}\n")
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def fetch(progress: bool = True) -> list[Path]:
    """Download (``apt-get download``) and unpack every pinned package that is not in the cache yet."""
    done = []
    for src in {s.package: s for s in SOURCES}.values():
        _check_source(src)
        if is_fetched(src):
            done.append(package_dir(src))
            continue
        debs = cache_dir() / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        deb = debs / deb_name(src)
        if not deb.is_file():
            if shutil.which("apt-get") is None:
                raise UserError(f"apt-get not found: cannot fetch {src.package} (put {deb.name} into {debs})")
            if progress:
                print(f"fetching {src.package} {src.version}")
            r = subprocess.run(["apt-get", "download", "-q", f"{src.package}={src.version}"], cwd=debs,
                               capture_output=True, text=True, timeout=1800)
            if r.returncode != 0 or not deb.is_file():
                msg = (r.stderr.strip().splitlines() or ["no file written"])[-1][:200]
                raise UserError(f"apt-get download {src.package}={src.version} failed: {msg} "
                                f"(run `apt-get update` first?)")
        done.append(unpack(deb, src))
    return done


def source_files(src: Source) -> list[Path]:
    """The WAV files of one source, sorted; raises a one-line error if its package is not fetched."""
    _check_source(src)
    if not is_fetched(src):
        raise UserError(f"{src.package} is not in {cache_dir()}: fetch the real-speech packages with: {fetch_command()}")
    root = package_dir(src) / src.folder
    files = sorted(p for p in root.rglob("*.wav")
                   if p.is_file() and not p.is_symlink() and not set(p.relative_to(root).parts[:-1]) & set(SKIP_FOLDERS))
    if not files:
        raise UserError(f"{root}: no WAV files")
    return files[:MAX_FILES_PER_SOURCE]


def speakers(role: str) -> list[Source]:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    return [s for s in SOURCES if s.kind == "speech" and s.role == role]


def music_files(role: str) -> list[Path]:
    """Music on hold for ``role``: 'heldout' gets MUSIC_HELDOUT, 'train' and 'val' the rest."""
    src = next(s for s in SOURCES if s.kind == "music")
    files = source_files(src)
    return [f for f in files if (f.name in MUSIC_HELDOUT) == (role == "heldout")]


def read_clip(path: Path, rate: int = 16000) -> np.ndarray:
    """One prompt at ``rate``; a file the bounded reader refuses (the Russian package ships an empty
    is.wav) reads as no samples, so callers skip it."""
    from edgernn.data.wav import read_wav

    try:
        return read_wav(path, rate)
    except UserError:
        return np.zeros(0, dtype=np.float32)


def trim_silence(x: np.ndarray, rate: int, floor_db: float = -40.0) -> np.ndarray:
    """Cut leading and trailing samples below ``floor_db`` of the clip's peak (20 ms frames)."""
    hop = max(1, rate // 50)
    n = len(x) // hop
    if n == 0:
        return x
    e = np.sqrt(np.mean(x[:n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    if e.max() < 1e-4:  # digital silence (-80 dBFS): nothing to keep
        return x[:0]
    loud = np.nonzero(20 * np.log10(e / (e.max() + 1e-12)) > floor_db)[0]
    if len(loud) == 0:
        return x[:0]
    return x[loud[0] * hop:(loud[-1] + 1) * hop]


def one_second_cuts(x: np.ndarray, rate: int, rng: np.random.Generator, max_cuts: int) -> list[np.ndarray]:
    """Up to ``max_cuts`` 1 s windows of the speech in ``x`` (random offsets; short clips are padded)."""
    x = trim_silence(x, rate)
    if len(x) < rate // 5:
        return []
    if len(x) <= rate:
        out = np.zeros(rate, dtype=np.float32)
        at = int(rng.integers(0, rate - len(x) + 1))
        out[at:at + len(x)] = x
        return [out]
    starts = rng.integers(0, len(x) - rate + 1, size=min(max_cuts, 1 + (len(x) - rate) // (rate // 2)))
    return [x[s:s + rate].astype(np.float32) for s in sorted(set(int(s) for s in starts))]


def speech_bed(sources: list[Source], seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """``seconds`` of the sources' prompts end to end (shuffled, short gaps), as one track."""
    files = [f for s in sources for f in source_files(s)]
    total = int(seconds * rate)
    out = np.zeros(total, dtype=np.float32)
    at = 0
    order = rng.permutation(len(files))
    k = 0
    while at < total:
        x = trim_silence(read_clip(files[order[k % len(files)]], rate), rate)
        k += 1
        if k % len(files) == 0:
            order = rng.permutation(len(files))
        x = x[:total - at]
        out[at:at + len(x)] = x
        at += len(x) + int(rate * rng.uniform(0.1, 0.8))
    return out


CLIP_FOLDER = "real-speech"  # a word folder whose name no keyword can take (keywords are [a-z']+)
RECORD = "real_speech.json"
MAX_CLIPS_PER_SPEAKER = 100_000


def add_to_dataset(data: str | Path, per_speaker: int, background_seconds: float, seed: int = D.SEED,
                   overwrite: bool = False, progress: bool = True) -> dict:
    """Add real speech to a Speech Commands folder: ``_unknown_`` clips and backgrounds.

    Writes ``DATA/real-speech/<speaker>_nohash_<k>.wav`` (1 s cuts of the training speakers'
    prompts, training split; the validation speaker's cuts are listed in validation_list.txt) and
    ``DATA/_background_noise_/real-*.wav`` (``background_seconds`` of training speech, and the
    training music), which training mixes under clips and cuts ``_silence_`` from. Held-out
    speakers and music are never written."""
    from edgernn import io
    from edgernn.data.wav import resample, write_wav

    root = Path(data)
    if not root.is_dir() or not (root / "_background_noise_").is_dir():
        raise UserError(f"{root}: not a keyword dataset folder with _background_noise_ (make one with: edgernn data synth-kws)")
    if not 1 <= per_speaker <= MAX_CLIPS_PER_SPEAKER:
        raise UserError(f"--per-speaker must be between 1 and {MAX_CLIPS_PER_SPEAKER} (got {per_speaker})")
    if not 0 <= background_seconds <= 600:
        raise UserError(f"--background-seconds must be between 0 and 600 (got {background_seconds})")
    final = root / CLIP_FOLDER
    if final.exists() and not overwrite:
        raise UserError(f"{final} exists: this dataset already has real speech (use --overwrite to replace it)")
    sources = speakers("train") + speakers("val")
    rate = 16000
    written: dict[str, list[str]] = {}
    tmp = Path(tempfile.mkdtemp(prefix=f".{CLIP_FOLDER}.", dir=root))
    try:
        from rich.progress import Progress

        with Progress(disable=not progress, transient=True) as bar:
            for src in sources:
                files = source_files(src)
                rng = np.random.default_rng([seed, int(hashlib.sha256(src.name.encode()).hexdigest()[:8], 16)])
                per_file = max(1, -(-per_speaker // len(files)))
                clips: list[np.ndarray] = []
                task = bar.add_task(f"cutting {src.name}", total=len(files))
                for f in rng.permutation(len(files)):
                    clips += one_second_cuts(read_clip(files[f], rate), rate, rng, per_file)
                    bar.advance(task)
                    if len(clips) >= per_speaker:
                        break
                names = []
                for k, x in enumerate(clips[:per_speaker]):
                    peak = float(np.max(np.abs(x))) or 1.0
                    gain = 10 ** rng.uniform(-1.0, 0.0) * 0.9 / peak  # random level, as the synthetic clips have
                    name = f"{src.name}_nohash_{k}.wav"
                    write_wav(tmp / name, (x * gain).astype(np.float32), rate)
                    names.append(f"{CLIP_FOLDER}/{name}")
                written[src.name] = names
        backgrounds = []
        rng = np.random.default_rng([seed, 7])
        if background_seconds > 0:
            bed = speech_bed(speakers("train"), background_seconds, rate, rng)
            io.atomic_write_bytes(root / "_background_noise_" / "real-speech-train.wav", _wav_bytes(bed, rate))
            backgrounds.append("real-speech-train.wav")
            for f in music_files("train"):
                x = read_clip(f, rate)
                io.atomic_write_bytes(root / "_background_noise_" / f"real-music-{f.stem}.wav", _wav_bytes(x, rate))
                backgrounds.append(f"real-music-{f.stem}.wav")
        val_names = [n for s in speakers("val") for n in written[s.name]]
        vlist = root / "validation_list.txt"
        old = [line.strip() for line in vlist.read_text().splitlines()] if vlist.is_file() else []
        kept = [r for r in old if r and not r.startswith(CLIP_FOLDER + "/")]
        io.atomic_write_text(vlist, "".join(r + "\n" for r in kept + val_names))
        record = {"command": "data real-speech", "per_speaker": per_speaker, "background_seconds": background_seconds,
                  "seed": seed, "clips": {k: len(v) for k, v in written.items()},
                  "roles": {s.name: s.role for s in SOURCES if s.kind == "speech"},
                  "packages": {s.package: s.version for s in SOURCES}, "backgrounds": backgrounds}
        io.write_json(tmp / RECORD, record)
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return record


def _wav_bytes(x: np.ndarray, rate: int) -> bytes:
    import io as _io

    import soundfile as sf

    buf = _io.BytesIO()
    sf.write(buf, np.clip(x, -1, 1), rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def real_stream(role: str, minutes: float, seed: int, rate: int = 16000,
                noises: list[np.ndarray] | None = None) -> np.ndarray:
    """``minutes`` of real speech of ``role``'s speakers ('heldout': the test stream; 'val': the
    calibration stream) — prompts shuffled, at random levels, with random gaps — over music
    (half the time: held-out music for 'heldout', training music otherwise) and a quiet noise
    bed: a keyword-free stream for false alarms per hour. Longer than the recordings (the
    held-out speakers have about 55 min of prompts), it repeats them in a new order, at new
    levels, over a new background."""
    rng = np.random.default_rng([seed, 13])
    total = int(minutes * 60 * rate)
    files = [f for s in speakers(role) for f in source_files(s)]
    audio = np.zeros(total, dtype=np.float32)
    at, k, order = int(rate * rng.uniform(0.3, 2.0)), 0, rng.permutation(len(files))
    cache: dict[int, np.ndarray] = {}
    while at < total:
        i = int(order[k % len(files)])
        k += 1
        if k % len(files) == 0:
            order = rng.permutation(len(files))
        if i not in cache:
            cache[i] = trim_silence(read_clip(files[i], rate), rate)
        x = cache[i][:total - at]
        peak = float(np.max(np.abs(x))) if len(x) else 0.0
        if peak > 0:
            audio[at:at + len(x)] += x * np.float32(10 ** rng.uniform(-1.0, 0.0) * 0.9 / peak)
        at += len(x) + int(rate * rng.uniform(0.3, 2.0))
    music = [read_clip(f, rate) for f in music_files(role)]
    seg = 60 * rate  # a minute at a time: music at a random level, or none
    for start in range(0, total, seg):
        if rng.random() < 0.5 and music:
            m = music[int(rng.integers(len(music)))]
            off = int(rng.integers(0, max(1, len(m) - seg)))
            piece = np.resize(m[off:], min(seg, total - start))
            audio[start:start + len(piece)] += piece * np.float32(10 ** rng.uniform(-1.5, -0.5))
    if noises:
        bed = np.concatenate([noises[int(rng.integers(len(noises)))] for _ in range(total // min(len(n) for n in noises) + 1)])
        audio += bed[:total] * np.float32(10 ** rng.uniform(-2.0, -1.0))
    return np.clip(audio, -1, 1)
