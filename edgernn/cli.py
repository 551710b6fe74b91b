"""Command line: ``edgernn <command>``. Thin: parse options, call ``edgernn.api``, print.

A ``UserError`` becomes a one-line message on stderr and exit status 2.
Each command has its own section below, marked ``# --- <name> ---``.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

import click

from edgernn import defaults as D
from edgernn.errors import UserError
from edgernn.targets.boards import BOARDS, boards_help

# The synthesis engines (edgernn.data.tts.ENGINES), named here because importing tts would load
# numpy and the data package on every start, --help included; a test keeps the two equal.
ENGINES = ("espeak", "flite", "festival", "piper", "hibari", "kokoro")


def _interrupt_in(owner: int):
    """The SIGTERM handler of process ``owner``: raise KeyboardInterrupt there. A process forked from
    it (a worker pool, a library's helper) inherits the handler; there it does what SIGTERM does by
    default, end the process, instead of unwinding it with a traceback (edgernn.procs)."""
    def handler(signum, frame):
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise KeyboardInterrupt
    return handler


# --- option types: every numeric option declares its range here (a test walks the commands and checks it) ---
class _Number(click.FloatRange):
    """A float in a range that is never NaN or infinite (click.FloatRange alone lets NaN through, since
    every comparison with NaN is false)."""

    name = "number"

    def convert(self, value, param, ctx):
        import math

        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return rv


def _ints(lo: int, hi: int) -> click.IntRange:
    return click.IntRange(lo, hi)


def _number(lo: float, hi: float, min_open: bool = False, max_open: bool = False) -> _Number:
    return _Number(lo, hi, min_open=min_open, max_open=max_open)


SEED = _ints(0, 2**32 - 1)          # numpy's and TensorFlow's seed range
EPOCHS = _ints(1, 100_000)
SAMPLES = _ints(1, 10**9)           # counts of samples or rows: any real dataset
EVERY_MS = _ints(1, 60_000)         # model-run interval; the hop-multiple rule is checked where the hop is known
TIMEOUT = _number(0, 24 * 3600, min_open=True)
FRACTION_OPEN = _number(0, 1, min_open=True, max_open=True)


@contextlib.contextmanager
def _terminate_as_interrupt():
    """SIGTERM (`kill`, a parent stopping its background jobs) unwinds like Ctrl-C, so folders
    being written are removed instead of left half-written; the previous handler comes back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt_in(os.getpid()))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def docs_page(names: list[str]) -> str:
    """The documentation page of a command, as a path in the built site (docs/ holds its source):
    [] -> the home page, ["train"] -> its guide, ["data", "synth-kws"] -> that section of the data guide."""
    if not names:
        return "index.html"
    return f"guides/{names[0]}.html" + (f"#{names[1]}" if len(names) > 1 else "")


def _command_names(ctx: click.Context) -> list[str]:
    """The subcommand names that led to ``ctx`` (the program's own name left out)."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return names[::-1]


class _DocsEpilog:
    """Ends every --help with the path of the command's page in the documentation site, one
    mechanism for all commands (docs/reference/cli.md; tests/test_docs.py checks each page exists)."""

    def format_epilog(self, ctx, formatter):
        super().format_epilog(ctx, formatter)
        formatter.write_paragraph()
        formatter.write_text(f"Docs: {docs_page(_command_names(ctx))} (built by `make docs`; source in docs/)")


class _Command(_DocsEpilog, click.Command):
    pass


class _SubGroup(_DocsEpilog, click.Group):
    command_class = _Command


def _ignore_further_interrupts() -> None:
    """Once the CLI has decided to exit with 130, a second Ctrl-C or SIGTERM during shutdown (a signal that
    reached a busy TensorFlow thread late, a user pressing twice) must not turn the exit into a death by
    signal or a traceback from an atexit handler."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


class _Group(_DocsEpilog, click.Group):
    """Turns UserError into 'edgernn: error: ...' and exit 2; Ctrl-C into exit 130."""

    command_class = _Command
    group_class = _SubGroup

    def invoke(self, ctx):
        try:
            with _terminate_as_interrupt():
                return super().invoke(ctx)
        except UserError as e:
            click.echo(f"edgernn: error: {e}", err=True)
            sys.exit(UserError.exit_code)
        except KeyboardInterrupt:
            _ignore_further_interrupts()
            click.echo("edgernn: interrupted", err=True)
            sys.exit(130)
        except OSError as e:
            if not isinstance(e, BrokenPipeError) and e.errno not in _ENVIRONMENT_ERRNOS:
                raise
            _environment_failure(e)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Click's own usage errors (bad option values, missing arguments) also become one
        'edgernn: error:' line with exit status 2, like every other bad input. A closed or full
        standard output (`| head -0`, `> /dev/full`) is one error line too, never a traceback."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        _tolerant_text_streams()
        rv = self._main(args, prog_name, complete_var, **extra)
        try:
            sys.stdout.flush()  # here, not at interpreter exit, where a failure can only be printed as noise
        except OSError as e:
            _environment_failure(e)
        sys.exit(rv if isinstance(rv, int) else 0)

    def _main(self, args, prog_name, complete_var, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # `edgernn` alone: the help, as click shows it
                click.echo(e.format_message())
                sys.exit(e.exit_code)
            where = f" (see `{e.ctx.command_path} --help`)" if e.ctx is not None else ""
            click.echo(f"edgernn: error: {' '.join(e.format_message().split())}{where}", err=True)
            sys.exit(UserError.exit_code)
        except click.ClickException as e:
            click.echo(f"edgernn: error: {' '.join(e.format_message().split())}", err=True)
            sys.exit(e.exit_code)
        except (click.Abort, EOFError):
            _ignore_further_interrupts()
            click.echo("edgernn: interrupted", err=True)
            sys.exit(130)
        except OSError as e:  # printing --help or --version to a full device
            if not isinstance(e, BrokenPipeError) and e.errno not in _ENVIRONMENT_ERRNOS:
                raise
            _environment_failure(e)
        except SystemExit:
            if type(sys.stdout).__name__ == "_PacifyFlushWrapper":  # click's own answer to a closed pipe (exit 1)
                _environment_failure(BrokenPipeError(errno.EPIPE, "Broken pipe"))
            raise
        return rv


# errno values that say something about the machine or the path given, not about edgernn
_ENVIRONMENT_ERRNOS = {errno.ENAMETOOLONG, errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ELOOP}


def _environment_failure(e: OSError) -> None:
    """One error line and exit 2 for a failure of the machine rather than of edgernn: a closed or full
    standard output (`| head -0`, `> /dev/full`), a name too long for the file system, a full or read-only
    disk. Standard output is pointed at /dev/null first, so the interpreter's own flush at exit cannot fail
    a second time and print a traceback."""
    import os

    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    if isinstance(e, BrokenPipeError) or e.filename is None:
        what = "cannot write to standard output" if isinstance(e, BrokenPipeError) or e.errno == errno.ENOSPC \
            else "cannot write"
    else:
        what = str(e.filename)[:200]
    with contextlib.suppress(OSError, ValueError):
        click.echo(f"edgernn: error: {what} ({e.strerror or type(e).__name__})", err=True)
    sys.exit(UserError.exit_code)


def _tolerant_text_streams() -> None:
    """Paths and names can hold any character; a terminal or PYTHONIOENCODING=ascii may not show them.
    Unprintable characters are escaped instead of raising UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors="backslashreplace")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edgernn")
def main():
    """edgernn: small GRU/LSTM/RNN models from data to microcontroller.

    Pipeline: data -> train -> prune / quantize -> export -> check / eval -> bench -> report;
    compare runs the whole path for GRU, LSTM and vanilla RNN and says which to use; sweep
    searches designs under device constraints on Ray; detect and streaming-eval run keyword
    models over long recordings. Every command has --help.
    """


def _print_table(table: dict) -> None:
    """Render {"title", "columns", "rows"} with rich. Every text is escaped: paths, folder and
    voice names come from the user, and rich would read "[/b]" in them as markup (and raise)."""
    from rich.markup import escape
    from rich.table import Table

    title = table.get("title")
    t = Table(title=escape(str(title)) if title is not None else None)
    for c in table["columns"]:
        t.add_column(escape(str(c)), justify="left" if c == table["columns"][0] else "right")
    for row in table["rows"]:
        t.add_row(*[escape(f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row])
    _console(160).print(t)


def _console(width: int):
    """A rich Console on stdout (``width`` when not a terminal) that reports a closed pipe as BrokenPipeError,
    which the CLI turns into one error line, instead of rich's silent exit status 1."""
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    return PipeConsole(width=None if sys.stdout.isatty() else width)


def _echo_json(obj) -> None:
    import json

    click.echo(json.dumps(obj, indent=2, default=str))


# --- data ---
@main.group()
def data():
    """Make or inspect datasets (the built-in synthetic ones need no download)."""


@data.command("synth-kws")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--seed", type=SEED, default=D.SEED, show_default=True, help="Random seed: the same seed gives identical files.")
@click.option("--per-word", type=_ints(1, 100_000), default=D.SYNTH_PER_WORD, show_default=True,
              help="Speakers (engine voice x rate x pitch x vocal-tract shift); each says every keyword once.")
@click.option("--unknown-total", type=_ints(0, 10**8), default=None,
              help="Clips of non-keywords for _unknown_, drawn from ~500 words (default: 16 x --per-word).")
@click.option("--keywords", default=None,
              help="Comma-separated keywords, e.g. marvin,sheila,lights (default: yes,no,up,down,left,right,on,off,stop,go).")
@click.option("--engines", default=None,
              help="Comma-separated subset of espeak,flite,festival (Debian packages) and piper,hibari,kokoro "
                   "(neural voices from Python wheels, extra 'voices'). Default: every one installed but kokoro "
                   "(opt-in: slow, and it did not help an unseen engine).")
@click.option("--workers", type=_ints(1, 256), default=D.SYNTH_WORKERS, show_default=True, help="Parallel synthesis processes.")
@click.option("--skip-existing", is_flag=True, help="Do nothing if OUT already holds a complete dataset.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def data_synth_kws(out, seed, per_word, unknown_total, keywords, engines, workers, skip_existing, overwrite):
    """Synthesize a keyword dataset into OUT, in Speech Commands layout.

    Several offline text-to-speech engines (espeak-ng, flite, festival, piper, hibari; kokoro if named), words alone or cut out of
    carrier phrases, simulated rooms, noise at random SNR, telephone band, cheap-microphone EQ,
    clipping. speakers.csv records each speaker's engine (see `train --holdout-engine`)."""
    from edgernn import api

    existed = out.exists()
    path = api.synth_kws(out, seed=seed, per_word=per_word, unknown_total=unknown_total, workers=workers,
                         skip_existing=skip_existing, overwrite=overwrite, keywords=keywords, engines=engines)
    click.echo(f"{path}: {'already complete, skipped' if existed and skip_existing else 'written'}")


@data.command("synth-anomaly")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--seed", type=SEED, default=D.SEED, show_default=True, help="Random seed: the same seed gives identical files.")
@click.option("--train-seconds", type=_number(5, 24 * 3600), default=D.ANOMALY_TRAIN_SECONDS, show_default=True,
              help="Normal signal for training (800 Hz).")
@click.option("--val-seconds", type=_number(5, 24 * 3600), default=D.ANOMALY_VAL_SECONDS, show_default=True,
              help="Normal signal for setting the threshold.")
@click.option("--test-seconds", type=_number(5, 24 * 3600), default=D.ANOMALY_TEST_SECONDS, show_default=True,
              help="Test signal, about 40% of it faulty.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def data_synth_anomaly(out, seed, train_seconds, val_seconds, test_seconds, overwrite):
    """Synthesize rotating-machine sensor data with labelled faults into OUT (train/val/test CSVs)."""
    from edgernn import api

    click.echo(f"{api.synth_anomaly(out, seed=seed, train_seconds=train_seconds, val_seconds=val_seconds, test_seconds=test_seconds, overwrite=overwrite)}: written")


@data.command("info")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--task", type=click.Choice(["kws", "classify", "anomaly"]), default=None,
              help="Task (default: detected from the data format).")
@click.option("--window", default=None, help="anomaly: window (samples) or 'auto', as in train.")
@click.option("--stride", type=_ints(1, 10**7), default=None, help="anomaly: stride, as in train.")
@click.option("--train-end", type=_ints(0, 10**9), default=None, help="anomaly, one CSV: first row of the test part, as in train.")
@click.option("--keywords", default=None,
              help="kws folders: comma-separated keywords; other word folders count as _unknown_.")
@click.option("--holdout-engine", type=click.Choice(ENGINES), default=None,
              help="kws, synthesized data: count this engine's clips as a separate 'holdout' split.")
@click.option("--frame", default=None,
              help="classify: the model input frame stacking by K (or 'auto', the default) makes, as in train.")
def data_info(path, task, window, stride, train_end, keywords, holdout_engine, frame):
    """Count samples per split and class of any supported dataset.

    For anomaly series it also suggests --window/--stride from the dominant period of the
    training part, and says which labelled anomalies a split would leave out.
    """
    from edgernn import api

    options = _anomaly_options(task or "anomaly", window, stride, train_end)
    options.update({k: v for k, v in (("keywords", keywords), ("holdout_engine", holdout_engine)) if v is not None})
    _print_table(api.data_info(path, task=task, frame=frame, **options))


@data.command("real-speech")
@click.argument("data_path", metavar="DATA", required=False, type=click.Path(path_type=Path))
@click.option("--fetch", is_flag=True,
              help="Download (apt-get download, pinned versions and sha256) and unpack the Asterisk prompt packages "
                   "into ~/.cache/edgernn/real-speech ($EDGERNN_REAL_SPEECH); nothing is installed.")
@click.option("--per-speaker", type=_ints(1, 100_000), default=D.REAL_SPEECH_PER_SPEAKER, show_default=True,
              help="1 s _unknown_ clips cut from each training and validation speaker (at most; a few per prompt).")
@click.option("--background-seconds", type=_number(0, 600), default=D.REAL_SPEECH_BACKGROUND_SECONDS, show_default=True,
              help="Seconds of training speakers' speech written as a background track (0: no speech or music backgrounds).")
@click.option("--seed", type=SEED, default=D.SEED, show_default=True, help="Seed of the cuts, levels and order.")
@click.option("--overwrite", is_flag=True, help="Replace the real speech DATA already has.")
def data_real_speech(data_path, fetch, per_speaker, background_seconds, seed, overwrite):
    """Add real recorded speech (other languages) and music to the keyword dataset DATA as non-keywords.

    Debian's Asterisk prompt packages (French, Italian, Russian, Spanish speakers; music on hold)
    are split by speaker: training speakers give _unknown_ clips and backgrounds, one speaker the
    validation clips, and the held-out speakers and music only the false-alarm stream of
    `streaming-eval --real-speech-minutes`. The English packages are never used (they are kept for
    acceptance testing)."""
    from edgernn import api

    if data_path is None and not fetch:
        raise UserError("give DATA (a keyword dataset folder) and/or --fetch")
    r = api.real_speech(data_path, fetch=fetch, per_speaker=per_speaker, background_seconds=background_seconds,
                        seed=seed, overwrite=overwrite)
    if "fetched" in r:
        click.echo(f"real-speech packages unpacked: {len(r['fetched'])}")
    if "added" in r:
        a = r["added"]
        click.echo(f"{data_path}: added " + ", ".join(f"{n} {k}" for k, n in a["clips"].items())
                   + f" clips; backgrounds: {', '.join(a['backgrounds']) or 'none'}")


@data.command("bundled")
@click.argument("name", required=False)
@click.argument("out", required=False, type=click.Path(path_type=Path))
@click.option("--list", "list_names", is_flag=True, help="List the bundled datasets and exit.")
@click.option("--seed", type=SEED, default=D.SEED, show_default=True, help="Seed of the stratified validation part.")
@click.option("--val-fraction", type=_number(0, 1, max_open=True), default=D.BUNDLED_VAL_FRACTION, show_default=True,
              help="Part of the archive's train split held out for validation (the test split stays as is).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def data_bundled(name, out, list_names, seed, val_fraction, overwrite):
    """Write real dataset NAME that ships inside sktime or the pinned aeon wheel to OUT (.npz: classification,
    .csv: anomaly). Sets read from the aeon wheel need it downloaded once (`make setup` does; otherwise the
    error gives the pip command); it is hash-checked and never installed or imported."""
    from edgernn import api

    if list_names:
        _print_table(api.bundled_table())
        return
    if not name or not out:
        raise UserError("need NAME and OUT (see --list for the names)")
    click.echo(f"{api.bundled(name, out, seed=seed, val_fraction=val_fraction, overwrite=overwrite)}: written")
    train_end = api.bundled_train_end(name)
    if train_end is not None:  # the archive says where its known-normal part ends: tell how to use it
        click.echo(f"rows 0..{train_end - 1} are the archive's known-normal part: train with --train-end {train_end}")


def _window_option(window):
    if window is None or window == "auto":
        return window
    try:
        return int(window)
    except ValueError:
        raise UserError(f"--window must be an integer or 'auto' (got {window!r})") from None


def _anomaly_options(task, window, stride, train_end) -> dict:
    """Loader options of anomaly windows (only those given); refused for other tasks."""
    given = {k: v for k, v in (("window", _window_option(window)), ("stride", stride), ("train_end", train_end))
             if v is not None}
    if given and task != "anomaly":
        raise UserError(f"--{next(iter(given)).replace('_', '-')} applies to --task anomaly only")
    return given


# --- train ---
@main.command()
@click.option("--task", type=click.Choice(["kws", "classify", "anomaly"]), default="kws", show_default=True,
              help="kws: keywords + _unknown_ + _silence_ (12 classes by default, see --keywords); classify: any .npz "
                   "sequence classification; anomaly: CSV time series.")
@click.option("--arch", default="gru", show_default=True, help="Recurrent cell: gru, lstm or rnn (vanilla tanh RNN); or dense (--features embedding only): the "
                   "window flattened, --layers ReLU layers of --units with dropout (default 0.3), a host head "
                   "(issue 25's: --units 128 --layers 2).")
@click.option("--units", type=_ints(1, 4096), default=D.TRAIN_UNITS, show_default=True, help="Hidden units per recurrent layer.")
@click.option("--layers", type=_ints(1, 16), default=D.TRAIN_LAYERS, show_default=True, help="Stacked recurrent layers.")
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path),
              help="Dataset: Speech Commands-layout folder, .npz, .csv or folder of CSVs.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Run folder to create.")
@click.option("--epochs", type=EPOCHS, default=None,
              help="Maximum epochs; early stopping may end sooner. Default: enough for ~1000 optimizer steps (40-300).")
@click.option("--batch-size", type=_ints(1, 65_536), default=None,
              help="Training batch size. Default: the largest power of two giving >= 10 steps per epoch (8-64).")
@click.option("--lr", type=_number(0, 10, min_open=True), default=None,
              help="Peak Adam learning rate, reached after the warm-up, then scheduled by --lr-schedule. "
                   "Default: 0.01 for --task classify with <= 1000 training sequences, 0.0003 for --arch dense, "
                   "0.006 for --task kws, else 0.003.")
@click.option("--patience", type=EPOCHS, default=None,
              help="Epochs without validation improvement before stopping. Default: ~200 optimizer steps (8-40 epochs); "
                   "with --lr-schedule cosine the whole schedule (the best epoch's weights are kept).")
@click.option("--warmup-epochs", type=_ints(0, 100_000), default=None,
              help="Epochs of linear learning-rate warm-up (0: none). Default: ~50 optimizer steps (1-5 epochs).")
@click.option("--min-epochs", type=_ints(0, 100_000), default=None,
              help="Epochs before early stopping and best-weights tracking start. Default: ~100 steps, at least the "
                   "warm-up, at most a quarter of --epochs.")
@click.option("--clipnorm", type=_number(0, 1e6), default=None,
              help="Clip gradients to this global norm (0: off). Default: 1.0.")
@click.option("--dropout", type=_number(0, 1, max_open=True), default=None,
              help="Dropout before the classifier head. Default: 0.3; 0 for --task kws with augmentation on "
                   "(the augmentation regularizes enough).")
@click.option("--seed", type=SEED, default=D.SEED, show_default=True, help="Random seed (weights, shuffling).")
@click.option("--class-weights/--no-class-weights", default=True, show_default=True,
              help="Weight classes inversely to their frequency.")
@click.option("--anomaly-model", type=click.Choice(["predictor", "autoencoder"]), default=D.ANOMALY_MODEL,
              show_default=True, help="anomaly: next-step predictor or sequence autoencoder.")
@click.option("--window", default=None,
              help="anomaly: samples per window, or 'auto' (one dominant period of the training part; "
                   "`edgernn data info` shows it). Default: 64.")
@click.option("--stride", type=_ints(1, 10**7), default=None,
              help="anomaly: samples between window starts (training uses half). Default: 32, or window/4 with auto.")
@click.option("--train-end", type=_ints(0, 10**9), default=None,
              help="anomaly, one CSV: first row of the test part (data rows count from 0, the header is not one); "
                   "rows before it are known-normal (their last fifth validates). Default: 60/20/20 split by time.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--feature-arithmetic", type=click.Choice(["float", "fixed"]), default=D.FEATURE_ARITHMETIC,
              show_default=True,
              help="kws: the MFCC front end's arithmetic. fixed: the integer front end of cores without an FPU "
                   "(Cortex-M0), bit for bit, so a model for such a board sees exactly the device's features.")
@click.option("--features", "features", type=click.Choice(["mfcc", "embedding"]), default=D.TRAIN_FEATURES,
              show_default=True,
              help="kws: mfcc = the MFCC front end (int8 -> C -> microcontroller); embedding = a pretrained "
                   "speech-embedding model (Google's speech_embedding, Apache-2.0, two ONNX files read out of the "
                   "pinned openwakeword 0.4.0 wheel) whose [16, 96] embeddings feed --arch: a two-stage host "
                   "pipeline (eval, detect, streaming-eval), no firmware.")
@click.option("--keywords", default=None,
              help="kws: comma-separated keywords to recognize; every other word folder becomes _unknown_ "
                   "(default: the keywords the dataset was synthesized with, else the ten core words).")
@click.option("--holdout-engine", type=click.Choice(ENGINES), default=None,
              help="kws, synthesized data: keep this engine out of train/val/test and report its keyword "
                   "accuracy and false-fire rate separately (voices the model never heard).")
@click.option("--augment/--no-augment", default=True, show_default=True,
              help="kws: time shift + background mixing (extra training copies) and SpecAugment masks per batch. "
                   "classify: series augmentation at --augment-strength (--no-augment: strength 0).")
@click.option("--augment-strength", default=None,
              help="classify: jitter, scaling, window warping and within-class mixup at a strength from 0 (off) to 1, "
                   "or 'auto': 0 and 1 compared on validation accuracy for long narrow series (see --frame), else 0. "
                   "Default: auto.")
@click.option("--frame", default=None,
              help="classify: K consecutive samples become one recurrent step (T x F -> T/K x K*F; a T that K does "
                   "not divide is padded at the start, with a note), or 'auto': for long narrow series (>= 96 steps, "
                   "<= 3 features) two K leaving 12-64 steps are compared on validation accuracy, else 1. "
                   "Default: auto.")
@click.option("--normalize", type=click.Choice(["series", "feature", "none", "auto"]), default=None,
              help="classify: series = z-normalize every series on its own (the UCR convention; a constant series "
                   "is an error); feature = training statistics per feature; none = raw values; auto = series or "
                   "feature, whichever has the higher 1-NN accuracy from the training to the validation rows "
                   "(ties: feature). Default: auto.")
@click.option("--select", type=click.Choice(["val", "cv", "auto"]), default=None,
              help="classify: how --frame/--augment-strength auto candidates are scored. val = trained on the "
                   "training split, scored on the validation split; cv = stratified 5-fold cross-validation over "
                   "the training + validation rows, then the chosen candidate trained on all of them for the folds' "
                   "median epochs (at most 4 times them); auto = cv for at most 100 training + validation rows, else val. "
                   "Default: val (cv is opt-in: measured so far on UnitTest and ArrowHead only).")
@click.option("--augment-options", default=None,
              help="kws: overrides, e.g. copies=2,time_shift_ms=80,background_prob=0.8,snr_db=0:20,time_masks=2,"
                   "time_mask_frames=6,freq_masks=1,freq_mask_bins=2,warp=0 (recorded in config.json; warp=w "
                   "resamples each extra copy by a factor from 1-w to 1+w, off by default).")
@click.option("--lr-schedule", type=click.Choice(["plateau", "cosine"]), default=None,
              help="plateau: warm-up, then the peak rate halved when the validation loss stalls; cosine: warm-up, "
                   "then half a cosine from the peak to 0 at the --epochs ceiling. Default: cosine for --task kws, "
                   "else plateau.")
@click.option("--steps-per-execution", type=_ints(1, 1000), default=None,
              help="Optimizer steps per call of the compiled training function: fewer hand-overs from Python, the "
                   "same arithmetic step for step. Above 1 needs --lr-schedule cosine (its rate is computed in the "
                   "graph). Default: 1 (32 measured 3-10% more CPU-seconds for --task kws).")
@click.option("--label-smoothing", type=_number(0, 1, max_open=True), default=D.LABEL_SMOOTHING, show_default=True,
              help="kws/classify: the training target keeps 1-s for the true class and spreads s over all classes.")
@click.option("--unknown-weight", type=_number(0, 100, min_open=True), default=D.UNKNOWN_WEIGHT, show_default=True,
              help="kws: loss weight of an _unknown_ clip relative to a keyword clip (above 1: fewer false fires, "
                   "fewer keywords recognized).")
@click.option("--teacher", type=click.Path(path_type=Path), default=None,
              help="kws: distil from this keyword run (same classes and sample rate; typically a --features "
                   "embedding run): the student learns its soft targets on the labelled clips and on "
                   "--unlabelled-minutes of the training speakers' real speech (needs `edgernn data real-speech "
                   "--fetch` when above 0). The student stays an ordinary model (MFCC: int8 -> C -> firmware).")
@click.option("--distill-alpha", type=_number(0, 1, min_open=True), default=D.DISTILL_ALPHA, show_default=True,
              help="--teacher: weight of the teacher's soft targets; 1 - alpha weighs the labels.")
@click.option("--temperature", type=_number(1, 20), default=D.DISTILL_TEMPERATURE, show_default=True,
              help="--teacher: softmax temperature of both models' outputs in the soft-target loss (T^2-scaled).")
@click.option("--unlabelled-minutes", type=_number(0, 600), default=D.DISTILL_UNLABELLED_MINUTES, show_default=True,
              help="--teacher: minutes of the training speakers' real speech over training music and noise, cut "
                   "into 1 s clips that only the teacher labels (0: labelled clips only).")
def train(task, arch, units, layers, data_path, out, epochs, batch_size, lr, patience, warmup_epochs, min_epochs,
          clipnorm, dropout, seed, class_weights, anomaly_model, window, stride, train_end, overwrite,
          feature_arithmetic, features, keywords, holdout_engine, augment, augment_options, augment_strength, frame,
          normalize, select, lr_schedule, steps_per_execution, label_smoothing, unknown_weight, teacher,
          distill_alpha, temperature, unlabelled_minutes):
    """Train a GRU/LSTM model; writes model.keras, config.json, metrics.json and plots to --out.

    Batch size, epochs, patience and warm-up are derived from the training split's size unless
    given; config.json["recipe"] records the values used. A run whose result is near chance (or
    whose best epoch was the first) prints a warning and is flagged in metrics.json["guard"].
    """
    from edgernn import api

    options = {"feature_arithmetic": feature_arithmetic} if feature_arithmetic != "float" else {}
    if features != D.TRAIN_FEATURES:
        options["features"] = features
    options.update(lr_schedule=lr_schedule, steps_per_execution=steps_per_execution, label_smoothing=label_smoothing,
                   unknown_weight=unknown_weight)
    if keywords is not None or holdout_engine is not None:
        options.update(keywords=keywords, holdout_engine=holdout_engine)
    if task == "kws":
        from edgernn.data.augment import parse_augment_options

        options["augment"] = parse_augment_options(augment_options) if augment else False
    elif not augment:
        options["augment"] = False
    options.update(frame=frame, normalize=normalize, augment_strength=augment_strength, select=select)
    if teacher is not None:
        options.update(teacher=teacher, distill_alpha=distill_alpha, temperature=temperature,
                       unlabelled_minutes=unlabelled_minutes)
    elif (distill_alpha, temperature, unlabelled_minutes) != (D.DISTILL_ALPHA, D.DISTILL_TEMPERATURE,
                                                              D.DISTILL_UNLABELLED_MINUTES):
        raise UserError("--distill-alpha, --temperature and --unlabelled-minutes need --teacher RUN")
    run = api.train(task=task, arch=arch, units=units, layers=layers, data=data_path, out=out, epochs=epochs,
                    batch_size=batch_size, lr=lr, patience=patience, warmup_epochs=warmup_epochs,
                    min_epochs=min_epochs, clipnorm=clipnorm, dropout=dropout, seed=seed,
                    class_weights=class_weights, anomaly_model=anomaly_model, overwrite=overwrite,
                    data_options=_anomaly_options(task, window, stride, train_end), **options)
    _print_table(api.run_summary(run))

# --- prune ---
@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--sparsity", type=FRACTION_OPEN, default=D.PRUNE_SPARSITY, show_default=True,
              help="Magnitude: fraction of weights set to zero. Structured: fraction of hidden units removed.")
@click.option("--structured", is_flag=True, help="Remove whole hidden units: a genuinely smaller dense model.")
@click.option("--epochs", type=_ints(0, 100_000), default=D.PRUNE_EPOCHS, show_default=True,
              help="Fine-tuning epochs on the run's training data.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="New run folder (default RUN-pruned, or RUN-structured).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def prune(run, sparsity, structured, epochs, out, overwrite):
    """Prune RUN and fine-tune it; writes a new run folder with prune.json (sparsity, sizes, accuracy)."""
    from edgernn import api
    from edgernn.io import read_json

    new = api.prune(run, sparsity=sparsity, structured=structured, epochs=epochs, out=out, overwrite=overwrite)
    r = read_json(Path(new) / "prune.json")["metrics"]
    b, a = r["before"], r["after"]
    _print_table({"title": f"prune {run} -> {new}", "columns": ["", "before", "after"], "rows": [
        [f"{r['metric_name']} (test)", f"{b['metric']:.4f}", f"{a['metric']:.4f}"],
        ["hidden units", r["units"][0], r["units"][1]],
        ["nonzero weights", b["nonzero_weights"], a["nonzero_weights"]],
        ["float32 bytes", b["float32_bytes"], a["float32_bytes"]],
        ["float32 gzip bytes", b["float32_gzip_bytes"], a["float32_gzip_bytes"]]]})

# --- quantize ---
@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--mode", type=click.Choice(["int8", "float16", "dynamic"]), default=D.QUANTIZE_MODE, show_default=True,
              help="int8: full integer, int8 in/out (microcontrollers); float16: half-size weights; "
                   "dynamic: int8 weights, float activations (CPU only).")
@click.option("--calibration-samples", type=_ints(1, 100_000), default=D.QUANTIZE_CALIBRATION_SAMPLES, show_default=True,
              help="Training samples used to set int8 ranges.")
@click.option("--calibration", type=click.Choice(["minmax", "percentile", "mse"]), default=D.QUANTIZE_CALIBRATION,
              show_default=True,
              help="int8 GRU/RNN graphs: how each tensor's range is drawn from the calibration samples. minmax: every "
                   "value seen; percentile: all but the 0.01% lowest and highest; mse: the clipping with the least "
                   "squared error (docs/design/int8-recurrent.md). The LSTM goes through the TFLite converter's own.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output file (default RUN/model_<mode>.tflite).")
@click.option("--seed", type=SEED, default=D.SEED, show_default=True, help="Seed for picking calibration samples.")
@click.option("--qat-epochs", type=_ints(0, 1000), default=D.QUANTIZE_QAT_EPOCHS, show_default=True,
              help="int8 GRU/RNN classifiers: epochs of quantization-aware fine-tuning (the int8 graph's own fake "
                   "quantization) on the training split before the int8 graph is built; the run's Keras model "
                   "is left as it is. 0: none.")
@click.option("--update-gate", type=click.Choice(["z", "complement"]), default=D.QUANTIZE_UPDATE_GATE, show_default=True,
              help="int8 GRU graph: complement computes 1 - z with the update gate's LOGISTIC on negated z weights "
                   "and updates h' = h + (1 - z)(n - h), so a unit that keeps its state (z = 1) is exact in int8; "
                   "z is the direct form h' = n + z (h - n), whose z tops out at 255/256 "
                   "(docs/design/int8-recurrent.md). Same ops and size either way.")
def quantize(run, mode, calibration_samples, calibration, out, seed, qat_epochs, update_gate):
    """Convert RUN's model to a .tflite file and check it against Keras."""
    from edgernn import api
    from edgernn.io import read_json

    path = api.quantize(run, mode=mode, calibration_samples=calibration_samples, calibration=calibration,
                        out=out, seed=seed, qat_epochs=qat_epochs, progress=qat_epochs > 0, update_gate=update_gate)
    record = read_json(path.with_name(f"quantize_{mode}.json") if path.parent == Path(run) else path.with_suffix(".json"))
    m = record["model"]
    rows = [["file", str(path)], ["bytes", m["file_bytes"]], ["kind", m["kind"]],
            ["ops", ", ".join(f"{k} x{v}" for k, v in m["ops"].items())]]
    rows += [[k.replace("_", " "), v] for k, v in record["metrics"].items()]
    _print_table({"title": f"quantize {mode}", "columns": ["", "value"], "rows": rows})

# --- export ---
@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["onnx", "c-array", "c"]), default=D.EXPORT_FORMAT,
              show_default=True,
              help="onnx: RUN -> model.onnx (tf2onnx, native GRU/LSTM ops, checked against Keras to 1e-4); "
                   "c-array: a .tflite (or RUN's model_int8.tflite) as a C array + header for TFLite Micro; "
                   "c: an int8 .tflite (or RUN's model_int8.tflite) -> interpreter-less C99, bit-exact with TFLite Micro.")
@click.option("--int8", is_flag=True, help="onnx: also write model_int8.onnx (onnxruntime dynamic quantization).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output file (onnx) or folder (c-array, c); default: next to the source.")
def export(source, fmt, int8, out):
    """Export SOURCE (a run folder or a .tflite file) to ONNX or C."""
    from edgernn import api

    click.echo(f"wrote {api.export(source, format=fmt, out=out, int8=int8)}")

# --- check ---
@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--target", type=click.Choice(["tflm"]), default=D.CHECK_TARGET, show_default=True,
              help="tflm: TFLite Micro (host build of its interpreter and kernels).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def check(model, target, as_json):
    """Can MODEL.tflite run on a microcontroller? Ops, kind, measured tensor arena, flash bytes.

    Exit status 0 when TFLite Micro runs the model, 1 when it cannot (the reason is printed).
    """
    from edgernn import api

    r = api.check(model, target=target)
    if as_json:
        _echo_json(r)
    else:
        rows = [["ops", ", ".join(f"{k} x{v}" for k, v in r["ops"].items())], ["kind", r["kind"]],
                ["input / output types", " / ".join(map(str, r["io_types"]))],
                ["flash (model bytes)", r["file_bytes"]],
                ["weights (constant bytes)", ", ".join(f"{k} {v}" for k, v in r["weight_bytes"].items())],
                ["runs on TFLite Micro", "yes" if r["runs"] else "NO"]]
        if r["runs"]:
            rows.append(["tensor arena (bytes)", f"{r['arena_bytes']} ({r['arena_note']})"])
        else:
            rows.append(["why not", r["reason"]])
        _print_table({"title": f"check {model} --target {target}", "columns": ["", ""], "rows": rows})
    sys.exit(0 if r["runs"] else 1)

# --- eval ---
@main.command("eval")
@click.argument("artifact", type=click.Path(path_type=Path))
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None,
              help="Dataset (default: the one the run was trained on).")
@click.option("--runtime", type=click.Choice(["keras", "litert", "tflm", "onnxrt"]), default=None,
              help="Runtime to run on (default: keras for .keras, litert for .tflite, onnxrt for .onnx).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the metrics JSON here.")
@click.option("--limit", type=SAMPLES, default=None, help="Evaluate only the first N test samples.")
def eval_cmd(artifact, data_path, runtime, out, limit):
    """Accuracy (ROC-AUC for anomaly) of ARTIFACT on the test split, batch 1, on one runtime.

    --data may hold test data only: an .npz of test rows (all rows without `split`), a Speech
    Commands folder with some of the words (all clips without testing_list.txt), a CSV scored as a
    whole; the run's config.json supplies classes, standardization and windows. Classes with no
    test sample are listed as absent.
    """
    from edgernn import api
    from edgernn.train.metrics import main_metric

    m = api.evaluate(artifact, data=data_path, runtime=runtime, out=out, limit=limit)
    name, value = main_metric(m)
    rows = [[name, f"{value:.4f}"], ["test samples", m["samples"]]]
    if m.get("absent_classes"):
        rows.append(["absent classes", ", ".join(m["absent_classes"])])
    if m.get("events", {}).get("events"):
        ev = m["events"]
        rows += [["pr_auc", f"{m['pr_auc']:.4f}"],
                 [f"top-1 location (±{ev['tolerance']})", f"row {ev['top1_row']}: {'hit' if ev['top1_hit'] else 'miss'}"]]
    _print_table({"title": f"eval {artifact} on {m['runtime']}", "columns": ["metric", "value"], "rows": rows})
    for note in m.get("notes", []):
        click.echo(f"edgernn: warning: {note}", err=True)

# --- bench ---
# A firmware run in QEMU takes longer than an SSH connection: --timeout is raised to at least this (seconds).
MCU_MIN_TIMEOUT = {"model": D.MCU_BENCH_TIMEOUT, "kws": D.BENCH_KWS_TIMEOUT}


@main.command()
@click.argument("artifacts", nargs=-1, type=click.Path(path_type=Path))
@click.option("--target", type=click.Choice(["cpu", "rpi", "mcu"]), default=D.BENCH_TARGET, show_default=True,
              help="cpu: this machine, a fresh process per measurement; rpi: a Raspberry Pi (any Linux box) over SSH; "
                   "mcu: int8 .tflite as generated C in Cortex-M firmware under QEMU (instructions, flash, RAM).")
@click.option("--runtimes", default=None,
              help="Comma-separated subset of keras,litert,tflm,onnxrt,native (default: every runtime that loads each "
                   "artifact except native, the generated C engine for int8 GRU graphs; rpi: litert,onnxrt).")
@click.option("--threads", type=_ints(1, 256), default=D.BENCH_THREADS, show_default=True, help="Runtime threads.")
@click.option("--warmup", type=_ints(0, 100_000), default=D.BENCH_WARMUP, show_default=True, help="Untimed invokes before timing.")
@click.option("--runs", type=_ints(1, 1_000_000), default=D.BENCH_RUNS, show_default=True, help="Timed invokes per repeat.")
@click.option("--repeat", "repeats", type=_ints(1, 100), default=D.BENCH_REPEATS, show_default=True,
              help="Repeat the whole measurement (fresh process each time) to show run-to-run noise.")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None,
              help="Dataset for accuracy (default: the run's own data, via config.json beside the artifact).")
@click.option("--limit", type=_ints(0, 10**9), default=None, help="Accuracy on the first N test samples only (0: no accuracy).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for results.json, results.csv, report.md and pareto.png.")
@click.option("--host", default=None, help="rpi: USER@HOST to reach over SSH.")
@click.option("--port", type=_ints(1, 65_535), default=22, show_default=True, help="rpi: SSH port.")
@click.option("--identity", type=click.Path(path_type=Path), default=None, help="rpi: SSH private key file.")
@click.option("--timeout", type=_number(0, 3600, min_open=True), default=D.RPI_TIMEOUT, show_default=True,
              help="rpi: seconds to wait for the connection; mcu: seconds per firmware run (at least 120; "
                   "--app kws: 600).")
@click.option("--remote-python", default="python3", show_default=True, help="rpi: Python on the board.")
@click.option("--remote-dir", default="/tmp/edgernn-bench", show_default=True,
              help="rpi: scratch folder on the board (removed afterwards).")
@click.option("--known-hosts", type=click.Path(path_type=Path), default=None,
              help="rpi: known_hosts file to use (default: yours; new hosts are accepted on first use).")
@click.option("--board", default=D.BOARD, show_default=True,
              help=f"mcu: {boards_help()}.")
@click.option("--vectors", type=_ints(1, 1000), default=D.MCU_VECTORS, show_default=True,
              help="mcu: test vectors run and checked against TFLite Micro.")
@click.option("--reference", is_flag=True, help="mcu: plain C kernels even where the core has DSP instructions.")
@click.option("--serial", "use_serial", is_flag=True,
              help="mcu: measure through the serial protocol (QEMU's UART on a pty) instead of semihosting.")
@click.option("--serial-port", default=None,
              help="mcu: a real board's serial port (e.g. /dev/ttyACM0), flashed with `firmware build --app serial`.")
@click.option("--app", "mcu_app", type=click.Choice(list(MCU_MIN_TIMEOUT)), default="model", show_default=True,
              help="mcu: model = the model alone on test vectors; kws = the keyword-spotting app streaming --wav "
                   "(ARTIFACTS are run folders): front end and model instructions per second of audio, real-time "
                   "factor, flash and RAM, detections vs the host.")
@click.option("--wav", type=click.Path(path_type=Path), default=None, help="mcu --app kws: the audio to stream.")
@click.option("--every-ms", type=EVERY_MS, default=200, show_default=True, help="mcu --app kws: model every this many ms.")
def bench(artifacts, target, runtimes, threads, warmup, runs, repeats, data_path, limit, out, host, port, identity,
          timeout, remote_python, remote_dir, known_hosts, board, vectors, reference, use_serial, serial_port,
          mcu_app, wav, every_ms):
    """Measure latency, memory, size and accuracy of ARTIFACTS (.keras, .tflite, .onnx) on a target."""
    from edgernn import api
    from edgernn.bench.report import print_table

    if mcu_app == "kws" and target != "mcu":
        raise UserError("--app kws is for --target mcu")
    if host and target != "rpi":
        raise UserError("--host is only for --target rpi")
    options = {  # each target's own options; the measurement itself is one call for every target
        "cpu": {},
        "rpi": dict(host=host, port=port, identity=str(identity) if identity else None, timeout=timeout,
                    remote_python=remote_python, remote_dir=remote_dir,
                    known_hosts=str(known_hosts) if known_hosts else None),
        "mcu": dict(board=board, vectors=vectors, reference=reference, app=mcu_app, serial=use_serial,
                    serial_port=serial_port, wav=wav, every_ms=every_ms,
                    timeout=max(timeout, MCU_MIN_TIMEOUT[mcu_app])),
    }[target]
    rows = api.bench(list(artifacts), target=target, runtimes=runtimes.split(",") if runtimes else None,
                     threads=threads, warmup=warmup, runs=runs, repeats=repeats, data=data_path, limit=limit, out=out,
                     **options)
    title = f"edgernn bench --target {target}" + (f" --board {board}" if target == "mcu" else "")
    print_table(rows, title, _console(180))
    for basis in dict.fromkeys(r["estimate"] for r in rows if r.get("estimate")):
        click.echo(f"estimate basis: {basis}")
    if out:
        click.echo(f"wrote {out}/results.json, results.csv, report.md" + (", pareto.png" if (Path(out) / "pareto.png").exists() else ""))



# --- report ---
@main.command()
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for the report.")
@click.option("--format", "formats", default=",".join(D.REPORT_FORMATS), show_default=True,
              help="Comma-separated: md, html.")
def report(folders, out, formats):
    """Merge `edgernn bench --out` FOLDERS into one page: tables and Pareto plots per target."""
    from edgernn import api

    for path in api.report(list(folders), out, formats=tuple(formats.split(","))):
        click.echo(f"wrote {path}")

# --- firmware ---
@main.group()
def firmware():
    """Build, run (QEMU) and flash (real boards) Cortex-M firmware that runs a model as generated C."""


@firmware.command("build")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--board", default=D.BOARD, show_default=True,
              help=f"{boards_help()}. stm32f4 is the STM32F405/407/429 memory map; microbit the BBC micro:bit v1.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Build folder (default: firmware-<board> next to the model).")
@click.option("--vectors", type=_ints(1, 1000), default=D.MCU_VECTORS, show_default=True,
              help="Test vectors baked in; expected outputs come from TFLite Micro.")
@click.option("--reference", is_flag=True, help="Plain C kernels even where the core has DSP instructions.")
@click.option("--app", type=click.Choice(["bench", "serial", "kws"]), default=D.FIRMWARE_APP, show_default=True,
              help="bench: test vectors, results over semihosting (QEMU); serial: the serial benchmark protocol "
                   "on the UART (for `bench --target mcu --serial` or a real board with --port); kws: keyword "
                   "spotting on audio (MODEL is then a run folder: C front end + model + smoothing, detections "
                   "printed with timestamps).")
@click.option("--wav", type=click.Path(path_type=Path), default=None,
              help="kws: the audio linked into flash (mono, 16-bit PCM, at the run's sample rate).")
@click.option("--every-ms", type=EVERY_MS, default=D.KWS_EVERY_MS, show_default=True,
              help="kws: run the model every this many ms (a multiple of the hop) on the last second of frames.")
@click.option("--arithmetic", type=click.Choice(["auto", "float", "fixed"]), default=D.KWS_ARITHMETIC,
              show_default=True,
              help="kws: the front end's arithmetic. auto: float32 on cores with an FPU, the integer path on cores "
                   "without one (Cortex-M0) or when the run was trained with fixed-point features.")
@click.option("--audio", type=click.Choice(["flash", "serial"]), default=D.FIRMWARE_AUDIO, show_default=True,
              help="kws: where the audio comes from: the --wav linked into flash, or streamed over the board's UART "
                   "at run time (`firmware stream`).")
def firmware_build(model, board, out, vectors, reference, app, wav, every_ms, arithmetic, audio):
    """Generate C for MODEL (int8 .tflite; --app kws: a run folder) and link firmware for BOARD."""
    from edgernn import api

    if app != "kws" and (wav is not None or audio != "flash"):
        raise UserError("--wav and --audio are only for --app kws")
    elf = api.firmware_build(model, board=board, out=out, vectors=vectors, reference=reference, app=app, wav=wav,
                             every_ms=every_ms, arithmetic=arithmetic, audio=audio)
    click.echo(f"wrote {elf}")


@firmware.command("run")
@click.argument("elf", type=click.Path(path_type=Path))
@click.option("--board", default=D.BOARD, show_default=True, help="The board the ELF was built for.")
@click.option("--timeout", type=TIMEOUT, default=None,
              help="Seconds before a hung run is stopped (default: 120 for --app bench, else 300).")
@click.option("--app", type=click.Choice(["auto", "bench", "kws"]), default=D.FIRMWARE_RUN_APP, show_default=True,
              help="The app the ELF was built with; auto: recognized from what the firmware prints. "
                   "bench: the summary, checked against TFLite Micro; kws: the detections with their timestamps.")
@click.option("--foreign", is_flag=True,
              help="Run an ELF that `edgernn firmware build` did not make here (no valid ELF.built.json beside it): "
                   "sandboxed, without semihosting (no host files or commands), output over the UART only.")
def firmware_run(elf, board, timeout, app, foreign):
    """Run firmware in qemu-system-arm and report what it printed. Exit 1 if outputs differ from TFLite Micro."""
    from edgernn import api

    r = api.firmware_run(elf, board=board, timeout=timeout, app=app, foreign=foreign)
    if r.pop("app") == "kws":
        _print_kws_run(r, elf, board)
        return
    r.pop("outputs")
    _print_table({"title": f"firmware run {elf} ({board})", "columns": ["", ""], "rows": [[k, v] for k, v in r.items()]})
    sys.exit(1 if r["mismatches"] else 0)


@firmware.command("stream")
@click.argument("elf", type=click.Path(path_type=Path), required=False)
@click.option("--wav", type=click.Path(path_type=Path), required=True,
              help="Audio to stream (mono, 16-bit PCM, at the run's sample rate).")
@click.option("--board", default=D.BOARD, show_default=True, help="The board the ELF was built for.")
@click.option("--port", default=None,
              help="A real board's serial port (flashed with `firmware build RUN --app kws --audio serial`); "
                   "without it ELF runs in QEMU with its UART on a pseudo-terminal.")
@click.option("--baud", type=_ints(50, 10_000_000), default=D.BAUD, show_default=True, help="Serial speed.")
@click.option("--timeout", type=TIMEOUT, default=D.FIRMWARE_STREAM_KWS_TIMEOUT, show_default=True,
              help="Seconds to wait for any reply.")
@click.option("--foreign", is_flag=True,
              help="Run an ELF that `edgernn firmware build` did not make here (no valid ELF.built.json beside it): "
                   "sandboxed, without semihosting (no host files or commands), output over the UART only.")
def firmware_stream(elf, wav, board, port, baud, timeout, foreign):
    """Stream a WAV to the kws app over serial and print its detections with their timestamps."""
    from edgernn import api

    if elf is None and port is None:
        raise UserError("give the ELF (run in QEMU) or --port (a real board)")
    r = api.firmware_stream_kws(elf, wav, board=board, port=port, baud=baud, timeout=timeout, foreign=foreign)
    _print_kws_run(r, elf or Path(port), board)


def _print_kws_run(r: dict, elf: Path, board: str) -> None:
    from edgernn.records import read_config
    from edgernn.targets.kws_firmware import recorded_run

    run = recorded_run(elf)  # label names from the run the ELF was built for
    names = None
    if run is not None:
        with contextlib.suppress(UserError):
            names = read_config(run / "config.json").class_names
    _print_table({"title": f"keyword detections ({elf}, {board})", "columns": ["time ms", "label", "score"],
                  "rows": [[t, names[k] if names and k < len(names) else k, s] for t, k, s in r["detection_list"]]})
    rows = [[k, r[k]] for k in ("samples", "frames", "results", "detections", "fe_ticks", "model_ticks", "stack_used")]
    _print_table({"title": "kws firmware summary", "columns": ["", ""], "rows": rows})


@firmware.command("flash")
@click.argument("elf", type=click.Path(path_type=Path))
@click.option("--board", required=True, help="stm32f4, microbit, or an mps2 board (see `firmware build --help`).")
@click.option("--probe", type=click.Choice(["openocd", "pyocd", "drive"]), default=None,
              help="openocd (default for stm32f4 and microbit), pyocd, or drive: copy a .hex/.bin onto the "
                   "board's USB drive (micro:bit DAPLink, MPS2+; the default for mps2).")
@click.option("--target", default=None, help="pyocd target name (default: stm32f429xi for stm32f4, nrf51 for microbit).")
@click.option("--drive", default=None, help="With --probe drive: the board's mounted USB drive, e.g. /media/$USER/MICROBIT.")
@click.option("--dry-run", is_flag=True, help="Print the programming command without running it.")
def firmware_flash(elf, board, probe, target, drive, dry_run):
    """Program ELF (built with `firmware build --app serial`) onto a connected real board.

    Then benchmark it with `edgernn bench MODEL --target mcu --serial-port /dev/ttyACM0`."""
    from edgernn import api

    r = api.firmware_flash(elf, board=board, probe=probe, target=target, drive=drive, dry_run=dry_run)
    if r.get("command"):
        click.echo(("would run: " if dry_run else "ran: ") + " ".join(shlex.quote(c) for c in r["command"]))
    if r.get("written"):
        click.echo(f"wrote {r['written']} ({r['bytes']} bytes): {r['note']}")


# --- detect ---
@main.command()
@click.argument("run_or_model", type=click.Path(path_type=Path))
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--every-ms", type=EVERY_MS, default=None,
              help="Run the model every N ms on the last 1 s of features, a multiple of the 20 ms hop "
                   "(default: config.json 'streaming', else 200).")
@click.option("--threshold", type=_ints(0, 255), default=None,
              help="Detection threshold 0..255 on the averaged score (default: config.json 'streaming', "
                   "set by `edgernn streaming-eval`, else 200).")
@click.option("--verify", type=click.Path(path_type=Path), default=None,
              help="A cascade: this keyword run (same classes and sample rate; typically a --features embedding "
                   "teacher) confirms every detection on its own windows from 0.5 s before to 0.5 s after it; "
                   "only confirmed ones are reported (the rest are listed as wake-ups in --json).")
@click.option("--verify-threshold", type=_ints(0, 255), default=D.VERIFY_THRESHOLD, show_default=True,
              help="--verify: the verifier's best score (0..255) for the detected keyword that confirms it.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def detect(run_or_model, audio, every_ms, threshold, verify, verify_threshold, as_json):
    """Find keywords in a long recording AUDIO (WAV, 16 kHz mono) with RUN_OR_MODEL.

    RUN_OR_MODEL is a run folder (its model.keras) or a .keras/.tflite file inside one. Results
    are averaged over 1 s and suppressed for 1.5 s after a detection, as TensorFlow Lite Micro's
    RecognizeCommands does (edgernn/streaming/recognize.py; the firmware uses the same rules)."""
    from edgernn import api

    if verify is None and verify_threshold != D.VERIFY_THRESHOLD:
        raise UserError("--verify-threshold needs --verify TEACHER_RUN")
    r = api.detect(run_or_model, audio, every_ms=every_ms, threshold=threshold, verify=verify,
                   verify_threshold=verify_threshold)
    if as_json:
        _echo_json(r)
        return
    rows = [[f"{d['time_ms'] / 1000:.2f}", d["label"], d["score"]] for d in r["detections"]]
    woke = f", {len(r['wakeups'])} wake-up(s) shown to the verifier" if "wakeups" in r else ""
    _print_table({"title": f"{audio}: {len(rows)} detection(s) in {r['seconds']:.1f} s "
                           f"(threshold {r['recognize']['threshold']}/255{woke})",
                  "columns": ["time (s)", "keyword", "score"], "rows": rows})


@main.command("streaming-eval")
@click.argument("run_or_model", type=click.Path(path_type=Path))
@click.option("--minutes", type=_number(0, 24 * 60, min_open=True), default=D.STREAM_MINUTES, show_default=True, help="Length of the test stream.")
@click.option("--calibration-minutes", type=_number(0, 24 * 60, min_open=True), default=D.STREAM_CALIBRATION_MINUTES, show_default=True,
              help="Length of the calibration stream.")
@click.option("--target-fa-per-hour", type=_number(0, 3600), default=D.STREAM_TARGET_FA_PER_HOUR, show_default=True,
              help="Calibrate the threshold for at most this many false alarms per hour (on the calibration stream).")
@click.option("--every-ms", type=EVERY_MS, default=D.KWS_EVERY_MS, show_default=True, help="Model run interval (multiple of the hop).")
@click.option("--seed", type=SEED, default=D.SEED, show_default=True, help="Seed of the streams.")
@click.option("--no-store", is_flag=True, help="Do not write the calibrated threshold into config.json.")
@click.option("--real-speech-minutes", type=_number(0, 600), default=D.STREAM_REAL_SPEECH_MINUTES, show_default=True,
              help="Also measure false alarms per hour on this many minutes of held-out real speech over music and "
                   "noise (needs `edgernn data real-speech --fetch`; 0: off); the threshold must then also meet "
                   "the target on the validation speaker's real speech.")
@click.option("--verify", type=click.Path(path_type=Path), default=None,
              help="Also measure a cascade: this keyword run (same classes and sample rate) confirms every detection "
                   "made at the operating threshold on the test stream and the real-speech stream (see detect "
                   "--verify); prints its FRR, false alarms per hour, wake-ups and the verifier's CPU per wake-up.")
@click.option("--verify-threshold", type=_ints(0, 255), default=D.VERIFY_THRESHOLD, show_default=True,
              help="--verify: the verifier's score (0..255) that confirms a detection.")
@click.option("--wake-fa-per-hour", type=_number(0, 3600), default=D.VERIFY_WAKE_FA_PER_HOUR,
              help="--verify: the student wakes at the threshold calibrated on the validation streams for this many "
                   "false wake-ups per hour (the verifier filters them). Default: its operating threshold.")
def streaming_eval(run_or_model, minutes, calibration_minutes, target_fa_per_hour, every_ms, seed, no_store,
                   real_speech_minutes, verify, verify_threshold, wake_fa_per_hour):
    """False rejections and false alarms per hour on long streams; calibrate the detection threshold.

    The test stream holds the run's held-out engine (train --holdout-engine), else its test split:
    keywords at known times among other words and noise. The threshold is calibrated on a stream of
    validation clips and stored in config.json ("streaming"); det_curve.png and streaming_eval.json
    go to the run folder."""
    from edgernn import api

    if verify is None and (verify_threshold != D.VERIFY_THRESHOLD or wake_fa_per_hour != D.VERIFY_WAKE_FA_PER_HOUR):
        raise UserError("--verify-threshold and --wake-fa-per-hour need --verify TEACHER_RUN")
    r = api.streaming_eval(run_or_model, minutes=minutes, calibration_minutes=calibration_minutes,
                           target_fa_per_hour=target_fa_per_hour, every_ms=every_ms, seed=seed, store=not no_store,
                           real_speech_minutes=real_speech_minutes, verify=verify, verify_threshold=verify_threshold,
                           wake_fa_per_hour=wake_fa_per_hour)
    a, o = r["at_calibrated_threshold"], r["test_operating_point"]
    stream = r["test_stream"]
    _print_table({"title": f"streaming on {stream['minutes']:g} min of {stream['engine'] or stream['split']} clips",
                  "columns": ["", "threshold", "FRR", "false alarms / hour", "keywords"],
                  "rows": [["calibrated on validation stream", r["recognize"]["threshold"],
                            f"{a['false_rejection_rate']:.1%}", f"{a['false_alarms_per_hour']:.2f}", a["keywords"]],
                           [f"test DET point (<= {r['target_fa_per_hour']:g} FA/h)", o["threshold"],
                            f"{o['false_rejection_rate']:.1%}", f"{o['false_alarms_per_hour']:.2f}", o["keywords"]]]})
    real = r.get("real_speech")
    if real:
        rows = [["operating threshold", real["at_operating_threshold"]]]
        if real["at_frr_goal"]:
            rows.append([f"DET point, FRR <= {real['at_frr_goal']['frr_goal']:.0%}", real["at_frr_goal"]])
        _print_table({"title": f"held-out real speech, {real['minutes']:g} min",
                      "columns": ["", "threshold", "FRR (keyword stream)", "false alarms / hour (real speech)"],
                      "rows": [[n, p["threshold"], f"{p['false_rejection_rate']:.1%}", f"{p['false_alarms_per_hour']:.2f}"]
                               for n, p in rows]})
    c = r.get("cascade")
    if c:
        t, cr = c["test_stream"], c.get("real_speech")
        _print_table({"title": f"cascade: the student wakes at {c['wake_threshold']}/255, {c['teacher']} confirms "
                               f"(score >= {c['verify_threshold']}/255)",
                      "columns": ["FRR (keyword stream)", "false alarms / hour (keyword stream)",
                                  "false alarms / hour (real speech)", "wake-ups / hour (real speech)",
                                  "verifier CPU ms / wake-up"],
                      "rows": [[f"{t['false_rejection_rate']:.1%}", f"{t['false_alarms_per_hour']:.2f}",
                                f"{cr['false_alarms_per_hour']:.2f}" if cr else "-",
                                f"{cr['wakeups_per_hour']:.1f}" if cr else "-", c["verifier_cpu_ms_per_wakeup"]]]})


# --- compare ---
@main.command()
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path), help="Dataset (any supported format).")
@click.option("--task", type=click.Choice(["kws", "classify", "anomaly"]), default=D.STUDY_TASK, show_default=True,
              help="Task of the dataset.")
@click.option("--budget", type=click.Choice(["params", "size", "macs"]), default=D.COMPARE_BUDGET, show_default=True,
              help="What to hold equal: parameters, int8 weight bytes, or MACs per inference.")
@click.option("--units", type=_ints(1, 4096), default=D.COMPARE_UNITS, show_default=True,
              help="Units of the first of --cells; the other cells' are matched to the budget.")
@click.option("--cells", default=D.COMPARE_CELLS, show_default=True,
              help="Comma-separated cells to compare: gru, lstm, rnn (vanilla tanh RNN).")
@click.option("--seeds", type=_ints(1, 100), default=D.COMPARE_SEEDS, show_default=True, help="Training seeds per cell type (mean ± std).")
@click.option("--targets", default=D.COMPARE_TARGETS, show_default=True,
              help=f"Comma-separated: cpu, mcu:BOARD ({', '.join(BOARDS)}).")
@click.option("--seq-lens", default=D.COMPARE_SEQ_LENS, show_default=True,
              help="Lengths for the long-dependency study (empty: skip it).")
@click.option("--epochs", type=EPOCHS, default=None, help="Maximum training epochs (default: train's default).")
@click.option("--seq-epochs", type=_ints(1, 10_000), default=D.COMPARE_SEQ_EPOCHS, show_default=True,
              help="Epochs per sequence-length model (no early stopping).")
@click.option("--seq-samples", type=_ints(10, 1_000_000), default=D.COMPARE_SEQ_SAMPLES, show_default=True,
              help="Sequences per length in the study.")
@click.option("--user-seq-lens", default=None,
              help="Also train both cells on your data resampled in time to these lengths (classification data; "
                   "one seed each). Off by default: upsampling is slow and only meaningful for some signals.")
@click.option("--prune-sparsities", default=D.COMPARE_PRUNE_SPARSITIES, show_default=True,
              help="Pruning sensitivity: magnitude-prune every successful run to these sparsities and measure int8 "
                   "accuracy on TFLite Micro (empty: skip it).")
@click.option("--prune-epochs", type=_ints(1, 10_000), default=D.COMPARE_PRUNE_EPOCHS, show_default=True,
              help="Fine-tuning epochs per pruned model.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for the comparison.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def compare(data_path, task, budget, units, cells, seeds, targets, seq_lens, epochs, seq_epochs, seq_samples,
            user_seq_lens, prune_sparsities, prune_epochs, out, overwrite):
    """GRU, LSTM or RNN? Train --cells with matched budgets over several seeds, convert, benchmark and recommend.

    Failed runs (near chance, the training guard's flag, NaN) are reported and left out; the
    recommendation rests on paired per-seed differences (median and bootstrap interval)."""
    from edgernn import api
    from edgernn.io import read_json

    folder = api.compare(data_path, task=task, budget=budget, units=units, seeds=seeds, targets=targets,
                         seq_lens=seq_lens or None, out=out, epochs=epochs, seq_epochs=seq_epochs,
                         seq_samples=seq_samples, user_seq_lens=user_seq_lens or None, overwrite=overwrite,
                         cells=cells, prune_sparsities=prune_sparsities or None, prune_epochs=prune_epochs)
    r = read_json(Path(folder) / "comparison.json")
    for f in r["failed_runs"]:
        click.echo(f"failed run: {f['arch'].upper()} seed {f['seed']}: {'; '.join(f['reasons'])}")
    click.echo(f"recommendation: {r['recommendation']['text']}")
    click.echo(f"wrote {folder}/report.md, comparison.json and plots ({r['seconds'] / 60:.1f} minutes)")


# --- sweep ---
@main.command()
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path),
              help="Dataset (any supported format); on a cluster the path must exist on every node.")
@click.option("--task", type=click.Choice(["kws", "classify", "anomaly"]), default=D.STUDY_TASK, show_default=True,
              help="Task of the dataset.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Sweep folder; running the same command again resumes it (recorded trials are not redone).")
@click.option("--arch", default=D.SWEEP_ARCH, show_default=True, help="Cells to try (comma-separated).")
@click.option("--units", default=D.SWEEP_UNITS, show_default=True, help="Hidden units per layer to try.")
@click.option("--layers", default=D.SWEEP_LAYERS, show_default=True, help="Recurrent layer counts to try.")
@click.option("--sparsity", default=D.SWEEP_SPARSITY, show_default=True,
              help="Magnitude-pruning sparsities to try (0 = no pruning; 0 <= s < 1).")
@click.option("--quant", default=D.SWEEP_QUANT, show_default=True,
              help="Quantization modes to try: int8 (microcontroller), float16, dynamic (CPU only).")
@click.option("--window", default=None, help="Anomaly data only: window lengths in samples to try (stride = half).")
@click.option("--search", type=click.Choice(["grid", "random"]), default=D.SWEEP_SEARCH, show_default=True,
              help="grid: every combination; random: --trials designs drawn without repeats (seeded).")
@click.option("--trials", type=_ints(1, 2000), default=None, help="Number of designs (random: default 16; grid: cap).")
@click.option("--seed", type=SEED, default=D.SEED, show_default=True, help="Training seed and random-search seed.")
@click.option("--epochs", type=_ints(1, 10_000), default=D.SWEEP_EPOCHS, show_default=True,
              help="Training epochs per trial (early stopping still applies).")
@click.option("--prune-epochs", type=_ints(1, 10_000), default=D.SWEEP_PRUNE_EPOCHS, show_default=True,
              help="Fine-tuning epochs of pruned trials.")
@click.option("--max-flash", default=None, help="Flash limit on --board, e.g. 64KB (KB = 1024 bytes).")
@click.option("--max-ram", default=None, help="RAM limit on --board (static data + measured stack), e.g. 16KB.")
@click.option("--max-latency-ms", type=_number(0, 1e7, min_open=True), default=None,
              help="Latency limit on --board (estimated cycles at the part's clock, reference/cycle-estimates.md).")
@click.option("--board", type=click.Choice(sorted(BOARDS)), default=D.BOARD, show_default=True,
              help="Board whose flash, RAM and latency are measured (generated C in QEMU) and constrained.")
@click.option("--address", default=None,
              help="HOST:PORT of an existing Ray cluster's head (`ray start --head`); default: a local Ray instance.")
@click.option("--num-cpus", type=_ints(1, 4096), default=None, help="Local Ray only: CPUs to use (default: all).")
@click.option("--cpus-per-trial", type=_number(0, 1024, min_open=True), default=D.SWEEP_CPUS_PER_TRIAL, show_default=True,
              help="CPUs Ray reserves for each trial.")
@click.option("--retries", type=_ints(0, 100), default=D.SWEEP_RETRIES, show_default=True,
              help="Re-runs of a trial whose worker process died.")
def sweep(data_path, task, out, arch, units, layers, sparsity, quant, window, search, trials, seed, epochs,
          prune_epochs, max_flash, max_ram, max_latency_ms, board, address, num_cpus, cpus_per_trial, retries):
    """Search cell, units, layers, sparsity, quantization (and anomaly window) under a device budget, on Ray.

    Each trial trains, prunes, quantizes, checks and benchmarks one design (MCU in QEMU, CPU); OUT gets
    every trial's figures (trials.csv/json), Pareto plots per target, the chosen model in best/, summary.md
    and a results.json that `edgernn report OUT` reads.
    """
    from edgernn import api

    s = api.sweep(data_path, task=task, out=out, arch=arch, units=units, layers=layers, sparsity=sparsity,
                  quant=quant, window=window, search=search, trials=trials, seed=seed, epochs=epochs,
                  prune_epochs=prune_epochs, max_flash=max_flash, max_ram=max_ram, max_latency_ms=max_latency_ms,
                  board=board, address=address, num_cpus=num_cpus, cpus_per_trial=cpus_per_trial, retries=retries)
    b = s["best"]
    click.echo(f"{s['trials']} trials ({s['ok']} ok, {len(s['failed'])} failed, {len(s['did_not_learn'])} did not "
               f"learn) on {len(s['nodes_used'])} Ray node(s); this run: {s['session']['trials_run']} trials in "
               f"{s['session']['wall_seconds']:.0f} s")
    click.echo(f"chosen: {b['id']}: {b['metric']} {b['accuracy']:.4f}, flash {b['flash_bytes']} B, RAM {b['ram_bytes']} B, "
               f"{board} {b['mcu_latency_ms'] if b['mcu_latency_ms'] is None else round(b['mcu_latency_ms'], 3)} ms "
               f"(estimate), CPU p50 {b['cpu_p50_ms']} ms -> {out}/best")
    click.echo(f"wrote {out}/summary.md, trials.csv, trials.json, results.json and Pareto plots")


if __name__ == "__main__":
    main()
