"""Every default of a command, defined once: the CLI (``edgernn/cli.py``), the Python API
(``edgernn/api.py``) and the stage functions they call all refer to these names.

``tests/test_defaults.py`` checks that the three agree and that none of them writes a literal of its own.
Defaults that depend on the data (epochs, batch size, learning rate of ``train``) are derived by
``edgernn.train.recipe`` and are ``None`` here. Plain constants only: the CLI imports this module at start.
"""

# shared
SEED = 0
BOARD = 'mps2-an386'
BAUD = 115200
KWS_EVERY_MS = 200
KWS_ARITHMETIC = 'auto'
MCU_VECTORS = 8  # test vectors of bench --target mcu and firmware build

# data synth-kws, synth-anomaly, bundled
SYNTH_PER_WORD = 800
SYNTH_WORKERS = 2
ANOMALY_TRAIN_SECONDS = 150
ANOMALY_VAL_SECONDS = 40
ANOMALY_TEST_SECONDS = 120
BUNDLED_VAL_FRACTION = 0.2
REAL_SPEECH_PER_SPEAKER = 1500
REAL_SPEECH_BACKGROUND_SECONDS = 300.0

# train (epochs, batch size, lr, patience, ... are derived from the data: edgernn/train/recipe.py)
TRAIN_UNITS = 64
TRAIN_LAYERS = 1
ANOMALY_MODEL = 'predictor'
FEATURE_ARITHMETIC = 'float'
TRAIN_FEATURES = 'mfcc'
LABEL_SMOOTHING = 0.0
UNKNOWN_WEIGHT = 1.0
DISTILL_ALPHA = 0.5
DISTILL_TEMPERATURE = 2.0
DISTILL_UNLABELLED_MINUTES = 20.0

# prune, quantize, export, check
PRUNE_SPARSITY = 0.75
PRUNE_EPOCHS = 45
QUANTIZE_MODE = 'int8'
QUANTIZE_CALIBRATION_SAMPLES = 300
QUANTIZE_CALIBRATION = 'minmax'
QUANTIZE_QAT_EPOCHS = 0
QUANTIZE_UPDATE_GATE = 'complement'
EXPORT_FORMAT = 'onnx'
CHECK_TARGET = 'tflm'

# bench, report
BENCH_TARGET = 'cpu'
BENCH_THREADS = 1
BENCH_WARMUP = 20
BENCH_RUNS = 200
BENCH_REPEATS = 3
RPI_TIMEOUT = 30.0
MCU_BENCH_TIMEOUT = 120
BENCH_KWS_TIMEOUT = 600
BENCH_SERIAL_VECTORS = 4
BENCH_SERIAL_TIMEOUT = 30
REPORT_FORMATS = ('md', 'html')

# firmware
FIRMWARE_APP = 'bench'
FIRMWARE_AUDIO = 'flash'
FIRMWARE_RUN_APP = 'auto'
FIRMWARE_RUN_TIMEOUT = 120.0
FIRMWARE_RUN_KWS_TIMEOUT = 300.0
FIRMWARE_STREAM_KWS_TIMEOUT = 60
KWS_FRONTEND = 'python'

# streaming-eval
STREAM_MINUTES = 60.0
STREAM_CALIBRATION_MINUTES = 30.0
STREAM_TARGET_FA_PER_HOUR = 1.0
STREAM_REAL_SPEECH_MINUTES = 0.0  # 0: no real-speech false-alarm stream
VERIFY_THRESHOLD = 128  # detect/streaming-eval --verify: the verifier's score (0..255) that confirms a wake-up
VERIFY_WAKE_FA_PER_HOUR = None  # streaming-eval --verify: None = the student wakes at its operating threshold

# compare, sweep
STUDY_TASK = 'kws'
COMPARE_BUDGET = 'params'
COMPARE_UNITS = 64
COMPARE_SEEDS = 3
COMPARE_TARGETS = 'cpu,mcu:mps2-an386'
COMPARE_SEQ_LENS = '50,200,800'
COMPARE_OUT = 'compare'
COMPARE_SEQ_EPOCHS = 30
COMPARE_SEQ_SAMPLES = 4000
COMPARE_CELLS = 'gru,lstm'
COMPARE_PRUNE_SPARSITIES = '0.5,0.75,0.9'
COMPARE_PRUNE_EPOCHS = 10
SWEEP_OUT = 'sweep'
SWEEP_ARCH = 'gru,lstm'
SWEEP_UNITS = '16,32'
SWEEP_LAYERS = '1'
SWEEP_SPARSITY = '0'
SWEEP_QUANT = 'int8'
SWEEP_SEARCH = 'grid'
SWEEP_EPOCHS = 3
SWEEP_PRUNE_EPOCHS = 2
SWEEP_CPUS_PER_TRIAL = 1.0
SWEEP_RETRIES = 1
