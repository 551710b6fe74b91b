"""The built-in keyword-spotting dataset, synthesized offline by several text-to-speech engines.

Writes the Speech Commands v2 layout, so one loader serves it and the real download:
  OUT/<word>/<speaker>_nohash_<k>.wav   1 s, 16 kHz, mono, 16-bit
  OUT/_background_noise_/*.wav          long noise recordings (here: generated)
  OUT/validation_list.txt, OUT/testing_list.txt   split by speaker, as Speech Commands does
  OUT/speakers.csv                      speaker -> engine, voice (lets training hold one engine out)
A "speaker" is one engine voice with its own rate, pitch and vocal-tract shift (resampling). It
says every keyword once, alone or inside a short carrier phrase it is cut out of (flite and
festival report word times), plus some of a large list of other words (the _unknown_ class).
Each clip then goes through a random room (pyroomacoustics image-method impulse responses),
background noise at a random SNR, a random channel (8 kHz telephone band, cheap-microphone EQ,
clipping) and a random gain and position in the second. Everything derives from ``seed``: the
same seed gives the same bytes, whatever the number of workers.
"""
from __future__ import annotations

import csv
import hashlib
import io as _io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgernn import defaults as D
from edgernn import io
from edgernn.data import tts, tts_kokoro
from edgernn.data.wav import resample, write_wav
from edgernn.errors import UserError
from edgernn.procs import worker_pool

CORE_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
# The other Speech Commands v2 words: they make up the _unknown_ class.
OTHER_WORDS = ("bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house",
               "marvin", "nine", "one", "seven", "sheila", "six", "three", "tree", "two",
               "wow", "zero", "backward", "forward", "follow", "learn", "visual")
# Words that sound close to a core word (yet/yes, know/no, cup/up, town/down, lift/left, ...):
# the hardest non-keywords; metrics report false fires on them separately.
NEAR_MISSES = tuple("""
yet yeah yell yep less guess chess dress know now snow note nose new oh own low
cup us but pup hop uh town round gown brown sound ground lift loft laugh
lived leaf life write ride bright light night white rate fight of often awe oft
all top shop stock spot step store stood stamp goal ghost girl gold good gone grow
""".split())
# Many more non-keywords, so the model learns to reject speech in general: common words and
# the near misses above.
EXTRA_UNKNOWN = NEAR_MISSES + tuple("""
coat call come came could can't cannot get got give gave great green again ago air
also always and any apple april area arm around ask away baby back bad bag ball bank bay
bear beat been before begin best better big black blue boat body book born both box boy
bread break bring brother build bus busy buy cake car card care carry case catch cell
chair change check child city class clean clear clock close cloud cold color cook cool
corn count country course cover cross cry cut dance dark day dead dear deep desk did
dinner doctor does door double draw dream drink drive drop dry during each ear early
earth east easy eat egg else empty end enough even evening ever every eye face fact fall
family far farm fast father feel few field fill find fine fire first fish fit flat floor
flower fly food foot form free fresh friend from front fruit full fun game garden gate
glass glad hair half hall hand hang hard hat have head hear heart heat heavy hello help
here high hill hold hole home hope horse hot hour how hundred hunt idea inch into iron
island jump just keep key kind king kitchen lake lamp land large last late lay lead
leave leg letter level line lion list little long look lot love lunch make man many map
mark market matter may meat meet middle milk mind minute miss money month moon more
morning most mother mountain mouth move much music must name near neck need never next
nice north nothing number ocean offer office oil okay old once only open orange order
other out over page pair paper park part party pass past pay pen people pick picture
piece place plan plant play please point pool poor post power press pretty price print
pull push put queen question quick quiet radio rain reach read ready red rest rice rich
river road rock roof room rose run sad safe said salt same sand save say school sea
season seat second see seed sell send set shape share she sheep ship shirt shoe short
should show side sign silver simple sing sister sit size skin sky sleep slow small smile
smoke soft some son song soon south space speak spring square stand star start station
stay stone street strong student study such sugar summer sun table take talk tall teach
team tell ten test than thank that their them then there these thick thin thing think
this those though today together tomorrow tonight too tooth train travel true turn
under until upon use very voice wait walk wall want warm wash watch water wave way wear
weather week well west what wheel when where which while wide wife wild will wind window
winter wish with woman wood word work world year young
""".split())
EXTRA_UNKNOWN = tuple(w for w in dict.fromkeys(EXTRA_UNKNOWN) if re.fullmatch(r"[a-z']+", w))
# Carrier phrases for words said in running speech; "{}" is the word that is cut out.
CARRIERS = ("please say {} now", "i said {}", "{} please", "say {} again", "the word {} is next",
            "okay {} then", "and {} too", "{} is what i said")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "croak", "klatt", "klatt2", "klatt3", "Andy", "Annie", "belinda", "david",
            "edward", "linda", "max", "paul", "quincy", "robert", "steph", "travis")
# Share of speakers per engine (renormalised over the engines used). The neural voices replace
# half of espeak-ng's speakers (the most robotic engine): chosen on validation, flite held out
# (docs/notes/2026-11-30-neural-voice-shares-and-kokoro.md); giving them 30 % taken from every engine did worse there.
ENGINE_SHARE = {"espeak": 0.2, "flite": 0.3, "festival": 0.3, "piper": 0.1, "hibari": 0.1, "kokoro": 0.2}
# Installed engines used only when named in --engines. kokoro: its five voices and their blends
# did not move the held-out festival figures (docs/notes/2026-11-30-neural-voice-shares-and-kokoro.md) and it costs 25 times the
# synthesis time of the others per clip.
OPT_IN_ENGINES = ("kokoro",)
# Engines that report where each word of a sentence is (carrier phrases need it)
WORD_TIMING_ENGINES = ("flite", "festival")
NOISE_KINDS = ("white", "pink", "brown", "hum", "tap", "babble")
RATE = 16000
NOISE_SECONDS = 30
ROOMS = 48                      # impulse responses simulated once per dataset
VALIDATION_PERCENT, TESTING_PERCENT = 10, 10
MAX_PER_WORD = 100_000  # speakers; Speech Commands v2 has ~2,600
# Non-keyword clips per speaker by default (was 4). _unknown_ stands for every other word: with
# ~5 clips per word the models called a quarter of unseen non-keywords keywords. The loader trains
# on half of them (speech_commands.TRAIN_UNKNOWN_FRACTION), so each draw sees more distinct words.
UNKNOWN_PER_SPEAKER = 16
KEYWORD_RE = re.compile(r"^[a-z][a-z']{0,31}$")
# Augmentation probabilities of the synthesized clips (recorded in edgernn_dataset.json).
RENDER = {"carrier_prob": 0.5, "shift_range": (0.86, 1.16), "reverb_prob": 0.4, "noise_prob": 0.85,
          "snr_db": (0.0, 30.0), "telephone_prob": 0.2, "eq_prob": 0.35, "clip_prob": 0.1,
          "peak": (0.05, 0.9)}


def parse_keywords(keywords) -> tuple[str, ...]:
    """'a,b,c' or a sequence -> validated tuple; duplicates and odd spellings are user errors."""
    if keywords is None:
        return CORE_WORDS
    words = [w.strip().lower() for w in (keywords.split(",") if isinstance(keywords, str) else keywords)]
    if not words or any(not w for w in words):
        raise UserError("--keywords needs a comma-separated list of words, e.g. --keywords marvin,sheila")
    dup = sorted({w for w in words if words.count(w) > 1})
    if dup:
        raise UserError(f"--keywords lists {', '.join(dup)} more than once")
    bad = [w for w in words if not KEYWORD_RE.match(w) or w.startswith("_")]
    if bad:
        raise UserError(f"keyword(s) {', '.join(map(repr, bad))}: use 1-32 letters a-z (and ')")
    if len(words) > 64:
        raise UserError(f"--keywords: at most 64 keywords (got {len(words)})")
    return tuple(words)


def unknown_vocabulary(keywords) -> tuple[str, ...]:
    """Every listed word that is neither a keyword nor said exactly like one (core words become
    unknowns when not chosen; "know" is left out while "no" is a keyword, "write" while "right" is)."""
    keys = set(keywords)
    pool = [w for w in dict.fromkeys([*CORE_WORDS, *OTHER_WORDS, *EXTRA_UNKNOWN]) if w not in keys and "-" not in w]
    same_sound = tts.homophones(keywords, pool)
    return tuple(w for w in pool if w not in same_sound)


@dataclass(frozen=True)
class Item:
    word: str
    take: int
    carrier: int        # index into CARRIERS, or -1 for the word alone
    seed: int


@dataclass(frozen=True)
class Speaker:
    id: str             # 8 hex chars
    voice: tts.Voice
    shift: float        # resampling factor: >1 raises pitch and formants and shortens
    items: tuple[Item, ...]


def split_of(speaker: str) -> str:
    """Speech Commands' rule: a speaker's hash picks its split, so no voice crosses splits."""
    percent = int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % 100
    if percent < VALIDATION_PERCENT:
        return "validation"
    if percent < VALIDATION_PERCENT + TESTING_PERCENT:
        return "testing"
    return "training"


def _voice_for(engine: str, rng: np.random.Generator) -> tts.Voice:
    stretch = float(np.round(rng.uniform(0.8, 1.25), 3))
    if engine == "espeak":
        name = f"{ACCENTS[rng.integers(len(ACCENTS))]}+{VARIANTS[rng.integers(len(VARIANTS))]}"
        return tts.Voice(engine, name, stretch, int(rng.integers(20, 81)))
    if engine == "flite":
        pitch = 0 if rng.random() < 0.5 else int(rng.integers(85, 201))
        return tts.Voice(engine, tts.FLITE_VOICES[rng.integers(len(tts.FLITE_VOICES))], stretch, pitch)
    if engine == "piper":  # VITS: noise_scale varies the voice quality, noise_w the phoneme timing
        return tts.Voice(engine, "joe", stretch, 0, noise=float(np.round(rng.uniform(0.3, 0.9), 3)),
                         noise_w=float(np.round(rng.uniform(0.4, 1.0), 3)), seed=int(rng.integers(2**31)))
    if engine == "hibari":
        return tts.Voice(engine, "heart", stretch, 0, seed=int(rng.integers(2**31)))
    if engine == "kokoro":  # a blend of two of its voices: a different speaker at every weight
        a, b = rng.choice(len(tts_kokoro.VOICES), 2, replace=False)
        w = float(np.round(rng.uniform(0.0, 1.0), 2))
        return tts.Voice(engine, f"{tts_kokoro.VOICES[a]}:{w:.2f}+{tts_kokoro.VOICES[b]}:{1 - w:.2f}", stretch, 0)
    voices = tts.festival_voices()
    return tts.Voice(engine, voices[rng.integers(len(voices))], stretch, 0)


def engine_plan(n: int, engines: tuple[str, ...]) -> list[str]:
    """n speaker slots shared by the engines in proportion to ENGINE_SHARE (deterministic)."""
    share = np.array([ENGINE_SHARE[e] for e in engines])
    counts = np.floor(share / share.sum() * n).astype(int)
    for i in range(n - counts.sum()):
        counts[i % len(engines)] += 1
    return [e for e, c in zip(engines, counts) for _ in range(c)]


def plan_speakers(per_word: int, seed: int, unknown_total: int, keywords=CORE_WORDS,
                  engines: tuple[str, ...] = tts.ENGINES) -> list[Speaker]:
    """One speaker per keyword take; each speaker also says a share of the unknown words."""
    rng = np.random.default_rng(seed)
    others = unknown_vocabulary(keywords)
    slots = engine_plan(per_word, engines)
    order = rng.permutation(len(slots))
    speakers = []
    for s in range(per_word):
        engine = slots[order[s]]
        voice = _voice_for(engine, rng)
        shift = float(np.round(rng.uniform(*RENDER["shift_range"]), 3))
        sid = hashlib.sha1(f"{seed}:{s}:{voice}:{shift}".encode()).hexdigest()[:8]
        n_other = unknown_total // per_word + (1 if s < unknown_total % per_word else 0)
        said = list(keywords) + [others[i] for i in rng.choice(len(others), min(n_other, len(others)),
                                                                replace=False)]
        items = []
        for word in said:
            carrier = -1
            if engine in WORD_TIMING_ENGINES and rng.random() < RENDER["carrier_prob"]:
                carrier = int(rng.integers(len(CARRIERS)))
            items.append(Item(word, 0, carrier, int(rng.integers(2**31))))
        speakers.append(Speaker(sid, voice, shift, tuple(items)))
    return speakers


def synth_noise(kind: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Background textures, normalised to RMS 0.1."""
    n = int(seconds * RATE)
    white = rng.standard_normal(n).astype(np.float32)
    spectrum = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    if kind == "white":
        x = white
    elif kind == "pink":
        x = np.fft.irfft(spectrum / np.sqrt(f), n)
    elif kind == "brown":
        x = np.fft.irfft(spectrum / f, n)
    elif kind == "hum":  # mains hum with harmonics plus a little hiss
        t = np.arange(n) / RATE
        mains = rng.choice([50.0, 60.0])
        x = sum(np.sin(2 * np.pi * mains * h * t + rng.uniform(0, 6.3)) / h for h in range(1, 8))
        x = x + 0.05 * white
    elif kind == "tap":  # running water: band-limited noise with a slow flutter
        band = (f > 500) & (f < 3500)
        x = np.fft.irfft(spectrum * band, n)
        t = np.arange(n) / RATE
        x = x * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 6) * t))
    elif kind == "babble":  # speech-band noise with syllable-rate (3-6 Hz) modulation
        band = (f > 200) & (f < 3000)
        x = np.fft.irfft(spectrum * band, n)
        env = np.abs(np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * (f < 5), n))
        x = x * env
    else:
        raise ValueError(kind)
    x = np.asarray(x, dtype=np.float32)
    return (x * (0.1 / (np.sqrt(np.mean(x ** 2)) + 1e-12))).astype(np.float32)


def room_impulse_responses(count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shoebox rooms (pyroomacoustics image method): random size, absorption, positions."""
    import pyroomacoustics as pra

    rirs = []
    for _ in range(count):
        dims = rng.uniform([2.5, 2.5, 2.2], [9.0, 7.0, 3.5])
        absorption = float(rng.uniform(0.15, 0.7))
        room = pra.ShoeBox(dims, fs=RATE, materials=pra.Material(absorption), max_order=12)
        room.add_source(rng.uniform(0.3, dims - 0.3))
        room.add_microphone(rng.uniform(0.3, dims - 0.3))
        room.compute_rir()
        h = np.asarray(room.rir[0][0], dtype=np.float64)[: RATE // 2]
        rirs.append((h / (np.abs(h).max() + 1e-12)).astype(np.float32))
    return rirs


def change_rate(x: np.ndarray, factor: float) -> np.ndarray:
    """Play ``x`` ``factor`` times faster: pitch and formants move up, duration shrinks."""
    if abs(factor - 1.0) < 1e-3 or len(x) == 0:
        return x
    up = 100
    down = int(round(up * factor))
    from scipy.signal import resample_poly

    return resample_poly(x, up, down).astype(np.float32)


def cheap_mic_eq(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A smooth random frequency response: a few +-8 dB bumps and a low-frequency roll-off."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    gain_db = np.zeros_like(f)
    for _ in range(int(rng.integers(1, 4))):
        centre, width, g = rng.uniform(300, 6000), rng.uniform(200, 2000), rng.uniform(-8, 8)
        gain_db += g * np.exp(-0.5 * ((f - centre) / width) ** 2)
    cutoff = rng.uniform(80, 400)
    gain = 10 ** (gain_db / 20) / np.sqrt(1 + (cutoff / np.maximum(f, 1.0)) ** 4)
    return np.fft.irfft(spec * gain, len(x)).astype(np.float32)


def telephone_band(x: np.ndarray) -> np.ndarray:
    """Down to 8 kHz sampling and back (nothing above 4 kHz), plus the 300 Hz high-pass."""
    from scipy.signal import butter, sosfilt

    y = resample(resample(x, RATE, 8000), 8000, RATE)[: len(x)]
    return sosfilt(butter(4, 300, "highpass", fs=RATE, output="sos"), y).astype(np.float32)


def render_clip(speech: np.ndarray, seed: int, noises: list[np.ndarray], rirs: list[np.ndarray]) -> np.ndarray:
    """Word -> 1 s clip: room, placement, noise at a random SNR, channel, gain."""
    rng = np.random.default_rng(seed)
    speech = change_rate(speech, float(rng.uniform(0.97, 1.03)))  # per-take tempo jitter
    if len(speech) > int(0.95 * RATE):  # too long for the window: say it faster rather than cut it
        speech = change_rate(speech, len(speech) / (0.95 * RATE))[: int(0.95 * RATE)]
    speech = speech / (np.abs(speech).max() + 1e-9)
    if rng.random() < RENDER["reverb_prob"]:
        from scipy.signal import fftconvolve

        wet = fftconvolve(speech, rirs[rng.integers(len(rirs))])[: len(speech) + RATE // 4]
        speech = (wet / (np.abs(wet).max() + 1e-9)).astype(np.float32)
    speech = speech[:RATE]
    out = np.zeros(RATE, dtype=np.float32)
    start = int(rng.integers(0, RATE - len(speech) + 1))
    out[start:start + len(speech)] = speech
    if rng.random() < RENDER["noise_prob"]:
        noise = noises[rng.integers(len(noises))]
        at = int(rng.integers(0, len(noise) - RATE))
        seg = noise[at:at + RATE]
        snr_db = rng.uniform(*RENDER["snr_db"])
        p_speech = np.mean(speech ** 2)
        out = out + seg * np.sqrt(p_speech / (np.mean(seg ** 2) + 1e-12) / 10 ** (snr_db / 10))
    if rng.random() < RENDER["eq_prob"]:
        out = cheap_mic_eq(out, rng)
    if rng.random() < RENDER["telephone_prob"]:
        out = telephone_band(out)
    out = out / (np.abs(out).max() + 1e-9) * rng.uniform(*RENDER["peak"])
    if rng.random() < RENDER["clip_prob"]:  # overdriven input: boost, then the converter clips
        out = np.clip(out * rng.uniform(1.5, 4.0), -0.9, 0.9)
    return np.clip(out, -1, 1).astype(np.float32)


def speak_items(speaker: Speaker) -> list[np.ndarray]:
    """Every item's word, cut out of its carrier phrase (or said alone), at 16 kHz."""
    texts = [CARRIERS[it.carrier].format(it.word) if it.carrier >= 0 else it.word for it in speaker.items]
    index = [CARRIERS[it.carrier].split().index("{}") if it.carrier >= 0 else 0 for it in speaker.items]
    spoken = tts.say(speaker.voice, texts)
    words = [tts.cut_word(s, i) for s, i in zip(spoken, index)]
    retry = [k for k, w in enumerate(words) if len(w) == 0 and speaker.items[k].carrier >= 0]
    if retry:  # the engine's word timing did not line up: say the word alone instead
        again = tts.say(speaker.voice, [speaker.items[k].word for k in retry])
        for k, s in zip(retry, again):
            words[k] = tts.cut_word(s, 0)
    return [change_rate(w, speaker.shift) for w in words]


_SHARED: dict = {}


def _init_worker(noises, rirs):
    _SHARED["noises"], _SHARED["rirs"] = noises, rirs


def _render_speaker(args) -> list[str]:
    speaker, root = args
    written = []
    for item, word in zip(speaker.items, speak_items(speaker)):
        if len(word) == 0:
            continue  # counted by the caller: the dataset records every missing clip
        rel = f"{item.word}/{speaker.id}_nohash_{item.take}.wav"
        write_wav(Path(root) / rel, render_clip(word, item.seed, _SHARED["noises"], _SHARED["rirs"]), RATE)
        written.append(rel)
    return written


def is_complete(out: Path) -> bool:
    return (out / "edgernn_dataset.json").is_file() and (out / "testing_list.txt").is_file()


def check_keywords_audible(keywords, engines) -> None:
    """Each keyword must give audio from every engine used (one short test per engine)."""
    for engine in engines:
        voice = tts.Voice(engine, {"espeak": "en-us", "flite": "slt", "piper": "joe", "hibari": "heart",
                                   "kokoro": "jf_alpha", "festival": (tts.festival_voices() or ("",))[0]}[engine], 1.0,
                          50 if engine == "espeak" else 0)
        for word, spoken in zip(keywords, tts.say(voice, list(keywords))):
            if len(tts.cut_word(spoken, 0)) == 0:
                raise UserError(f"keyword {word!r}: {tts.ENGINE_PROGRAMS[engine]} produces no audio for it")


def parse_engines(engines) -> tuple[str, ...]:
    if engines is None:  # every installed engine but the opt-in ones
        have = tuple(e for e in tts.available_engines() if e not in OPT_IN_ENGINES)
        if "espeak" not in have:
            tts.binary("espeak")  # the one engine the built-in data needs: say how to install it
        return have
    names = [e.strip() for e in (engines.split(",") if isinstance(engines, str) else engines) if e.strip()]
    bad = [e for e in names if e not in tts.ENGINES]
    if bad or not names or len(set(names)) != len(names):
        raise UserError(f"--engines: choose distinct names from {', '.join(tts.ENGINES)} (got {engines!r})")
    for e in names:
        tts.require(e)
        if e == "festival" and not tts.festival_voices():
            raise UserError("festival has none of its English voices installed "
                            f"(Debian: apt-get install {tts.ENGINE_PACKAGES['festival']})")
    return tuple(names)


def synth_kws(out: str | Path, seed: int = D.SEED, per_word: int = D.SYNTH_PER_WORD, unknown_total: int | None = None,
              workers: int = D.SYNTH_WORKERS, skip_existing: bool = False, overwrite: bool = False,
              progress: bool = True, keywords=None, engines=None) -> Path:
    """Synthesize the keyword dataset (``keywords`` + _unknown_ + _silence_) into ``out``."""
    out = Path(out)
    if not 1 <= per_word <= MAX_PER_WORD:
        raise UserError(f"--per-word must be between 1 and {MAX_PER_WORD} (got {per_word})")
    if unknown_total is not None and not 0 <= unknown_total <= MAX_PER_WORD * len(OTHER_WORDS):
        raise UserError(f"--unknown-total must be between 0 and {MAX_PER_WORD * len(OTHER_WORDS)} (got {unknown_total})")
    if not 1 <= workers <= 256:
        raise UserError(f"--workers must be between 1 and 256 (got {workers})")
    keywords = parse_keywords(keywords)
    if skip_existing and is_complete(out):
        return out
    io.check_out(out, "folder", overwrite=overwrite, replace=True)
    engines = parse_engines(engines)
    check_keywords_audible(keywords, engines)
    unknown_total = per_word * UNKNOWN_PER_SPEAKER if unknown_total is None else unknown_total
    speakers = plan_speakers(per_word, seed, unknown_total, keywords, engines)
    rng = np.random.default_rng(seed)
    noises = {k: synth_noise(k, NOISE_SECONDS, rng) for k in NOISE_KINDS}
    rirs = room_impulse_responses(ROOMS, np.random.default_rng([seed, 1]))
    with io.atomic_dir(out, overwrite=overwrite) as tmp:
        (tmp / "_background_noise_").mkdir()
        for kind, x in noises.items():
            write_wav(tmp / "_background_noise_" / f"{kind}_noise.wav", x, RATE)
        for word in sorted({it.word for s in speakers for it in s.items}):
            (tmp / word).mkdir()
        written = _render_all(speakers, tmp, list(noises.values()), rirs, workers, progress)
        missing = sorted({it.word for s in speakers for it in s.items} - {r.split("/")[0] for r in written})
        for word in missing:
            (tmp / word).rmdir()
        _write_split_lists(tmp, written)
        _write_speakers(tmp, speakers)
        counts = {e: sum(1 for s in speakers if s.voice.engine == e) for e in engines}
        io.write_json(tmp / "edgernn_dataset.json", io.record(
            "data synth-kws", inputs={}, params={"seed": seed, "per_word": per_word, "unknown_total": unknown_total,
                                                 "keywords": list(keywords), "engines": list(engines),
                                                 "render": RENDER, "rooms": ROOMS},
            outputs={"clips": len(written), "planned": sum(len(s.items) for s in speakers),
                     "keywords": list(keywords), "speakers_per_engine": counts,
                     "words": sorted({r.split("/")[0] for r in written}),
                     "noise": list(NOISE_KINDS), "sample_rate": RATE}))
    return out


def _render_all(speakers, root: Path, noises, rirs, workers: int, progress: bool) -> list[str]:
    from rich.progress import Progress

    jobs = [(s, str(root)) for s in speakers]
    written: list[str] = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("synthesizing speakers", total=len(jobs))
        if workers <= 1:
            _init_worker(noises, rirs)
            for job in jobs:
                written += _render_speaker(job)
                bar.advance(task)
            return sorted(written)
        with worker_pool(workers, _init_worker, (noises, rirs)) as pool:  # fork, or spawn isolated (procs.py)
            for rels in pool.imap_unordered(_render_speaker, jobs, chunksize=2):
                written += rels
                bar.advance(task)
            pool.close()  # workers end normally: they end and wait for their engine children (tts._start_child)
            pool.join()
    return sorted(written)


def _write_split_lists(root: Path, written: list[str]) -> None:
    lists = {"validation": [], "testing": []}
    for rel in sorted(written):
        split = split_of(rel.split("/")[1].split("_nohash_")[0])
        if split in lists:
            lists[split].append(rel)
    for name, rows in lists.items():
        io.atomic_write_text(root / f"{name}_list.txt", "".join(r + "\n" for r in rows))


def _write_speakers(root: Path, speakers: list[Speaker]) -> None:
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["speaker", "engine", "voice", "stretch", "pitch", "shift"])
    for s in sorted(speakers, key=lambda s: s.id):
        w.writerow([s.id, s.voice.engine, s.voice.name, s.voice.stretch, s.voice.pitch, s.shift])
    io.atomic_write_text(root / "speakers.csv", buf.getvalue())


def read_speakers(root: str | Path, column: str = "engine") -> dict[str, str]:
    """speaker id -> engine (or another column: "voice"), from a synthesized dataset's speakers.csv
    ({} if there is none)."""
    path = Path(root) / "speakers.csv"
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        return {row["speaker"]: row[column] for row in csv.DictReader(f) if row.get("speaker") and row.get(column)}


def voice_family(name: str) -> str:
    """A voice name without its blend weights ("jf_alpha:0.30+jm_kumo:0.70" -> "jf_alpha+jm_kumo")."""
    return "+".join(sorted(piece.split(":")[0] for piece in name.split("+"))) if ":" in name else name
