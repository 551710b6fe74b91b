# Two commands do everything on a fresh machine (Debian, root, Python 3.11):
#   make demo   data -> train GRU and LSTM on the built-in keyword data -> metrics
#   make test   the test suite
# Both install what they need: Debian packages (apt-get) and the Python venv in .venv.

PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# espeak-ng: KWS synthesis; arm toolchain + QEMU: firmware; openssh-server: Raspberry Pi target tests;
# qemu-user: the emulated ARM64 Raspberry Pi userland (tools/arm64_userland.py, tests/targets/test_rpi_arm64.py);
# openocd: `firmware flash` (its tests check the board scripts exist).
# gcc-riscv64-unknown-elf + picolibc headers + qemu-system-misc (qemu-system-riscv32): the sifive_e RISC-V board.
# flite, festival + voices: more KWS synthesis engines (data synth-kws, train --holdout-engine).
# chromium: the test that opens the built documentation site headless (tests/test_docs.py).
APT_PKGS := espeak-ng libsndfile1 gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
            gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc \
            openssh-server openssh-client qemu-user openocd \
            flite festival festvox-us-slt-hts festvox-kallpc16k festvox-kdlpc16k chromium
APT_STAMP := $(VENV)/.apt

DEMO_DATA := data/kws
DEMO_RUNS := runs

# Real datasets read out of the aeon wheel (never installed: its numba pins an older numpy), see
# edgernn/wheels.py, which pins the same version and sha256. Fetched once into the cache.
WHEEL_DIR   ?= $(or $(EDGERNN_WHEELS),$(HOME)/.cache/edgernn/wheels)
export EDGERNN_WHEELS := $(WHEEL_DIR)
AEON_WHEEL  := $(WHEEL_DIR)/aeon-1.6.0-py3-none-any.whl
AEON_SHA256 := d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409
# The speech-embedding front end (train --features embedding) reads two ONNX files out of this wheel.
OWW_WHEEL   := $(WHEEL_DIR)/openwakeword-0.4.0-py3-none-any.whl
OWW_SHA256  := 2c353f49a35d384507403efde3db439353d8281a52d08a0e42a5b493e5145075

.PHONY: demo test docs setup apt venv clean bench-quality wheels real-speech

setup: apt venv wheels

wheels: $(AEON_WHEEL) $(OWW_WHEEL)
$(AEON_WHEEL): | $(STAMP)
	$(BIN)/pip download -q --no-deps --only-binary=:all: aeon==1.6.0 -d $(WHEEL_DIR)
	echo "$(AEON_SHA256)  $@" | sha256sum -c --quiet - || { rm -f $@; echo "aeon wheel: sha256 mismatch"; exit 1; }
$(OWW_WHEEL): | $(STAMP)
	$(BIN)/pip download -q --no-deps --only-binary=:all: openwakeword==0.4.0 -d $(WHEEL_DIR)
	echo "$(OWW_SHA256)  $@" | sha256sum -c --quiet - || { rm -f $@; echo "openwakeword wheel: sha256 mismatch"; exit 1; }

# Real recorded speech and music (Debian's Asterisk prompt packages, pinned, never installed) for
# non-keyword training data and the false-alarm stream: edgernn/data/real_speech.py.
real-speech: setup
	$(BIN)/edgernn data real-speech --fetch

apt: $(APT_STAMP)
$(APT_STAMP): Makefile
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

venv: $(STAMP)
$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "need $(PY)"; exit 2; }
	[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# The two trainings run side by side: a 64-unit recurrent net cannot keep 2 cores busy (its steps
# are small and one after another), so the pair ends about a minute sooner than one after the
# other (docs/notes/2026-11-30-synthesis-and-demo-time.md). The first to load the data computes its
# features; the other waits for that cache instead of computing them too (a lock in the loader).
# LSTM-64 writes to $(DEMO_RUNS)/lstm64.log; GRU-64
# shows its progress here. Ctrl-C stops both. tools/timed.py records each stage's wall time and
# CPU-seconds in $(DEMO_TIMES); the last line of the demo prints them (docs/notes/2026-12-07-demo-speed.md).
DEMO_TIMES := $(DEMO_RUNS)/demo-times.jsonl
# synthesis processes: the same bytes whatever the number; on 2 quiet cores 2 took 190.8 s and 3 took
# 199.2 s (docs/notes/2026-12-08-demo-speed-2.md, addendum), e.g. make demo DEMO_SYNTH_WORKERS=3
DEMO_SYNTH_WORKERS ?= 2
TIMED      := $(BIN)/python tools/timed.py $(DEMO_TIMES)

demo: setup
	@mkdir -p $(DEMO_RUNS) && rm -f $(DEMO_TIMES)
	@$(TIMED) synthesis -- $(BIN)/edgernn data synth-kws $(DEMO_DATA) --skip-existing --workers $(DEMO_SYNTH_WORKERS)
	@echo "training LSTM-64 in the background (log: $(DEMO_RUNS)/lstm64.log) and GRU-64 here"
	@$(TIMED) "LSTM-64" -- $(BIN)/edgernn train --task kws --arch lstm --units 64 --data $(DEMO_DATA) \
	    --out $(DEMO_RUNS)/lstm64 --overwrite > $(DEMO_RUNS)/lstm64.log 2>&1 & lstm=$$!; \
	trap 'kill $$lstm 2>/dev/null' INT TERM EXIT; \
	$(TIMED) "GRU-64" -- $(BIN)/edgernn train --task kws --arch gru --units 64 --data $(DEMO_DATA) \
	    --out $(DEMO_RUNS)/gru64 --overwrite; \
	gru=$$?; wait $$lstm; lstm_rc=$$?; \
	if [ $$lstm_rc -ne 0 ]; then echo "LSTM-64 training failed (exit $$lstm_rc), end of $(DEMO_RUNS)/lstm64.log:"; \
	  tail -n 5 $(DEMO_RUNS)/lstm64.log; fi; \
	[ $$gru -eq 0 ] && [ $$lstm_rc -eq 0 ]
	$(BIN)/python tools/show_metrics.py $(DEMO_RUNS)/gru64 $(DEMO_RUNS)/lstm64
	@$(BIN)/python tools/timed.py --show $(DEMO_TIMES)

# TESTS narrows the run, e.g. `make test TESTS=tests/studies/test_sweep.py` (or `.ci/run TESTS=...`).
TESTS ?= tests
test: setup
	$(BIN)/python -m pytest -n 2 --dist loadfile -q $(TESTS)

# The documentation site into site/, strict: a broken link, anchor, reference or nav entry fails it.
# Results pages, the boards matrix and the C runtime headers are generated during the build
# (tools/mkdocs_hooks.py); docs/index.md says where to start.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean -f mkdocs.yml -d site

clean:
	rm -rf $(VENV) build site .pytest_cache
