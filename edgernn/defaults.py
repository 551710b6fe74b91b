"""Every default of a command, defined once: the CLI (``edgernn/cli.py``), the Python API
(``edgernn/api.py``) and the stage functions they call all refer to these names.

``tests/test_defaults.py`` checks that the three agree and that none of them writes a literal of its own.
Defaults that depend on the data (epochs, batch size, learning rate of ``train``) are derived by
``edgernn.train.recipe`` and are ``None`` here. Plain constants only: the CLI imports this module at start.
"""

FIRMWARE_APP = 'bench'
SWEEP_ARCH = 'gru,lstm'
KWS_ARITHMETIC = 'auto'
FIRMWARE_AUDIO = 'flash'
BAUD = 115200
BENCH_KWS_TIMEOUT = 600
BENCH_SERIAL_TIMEOUT = 30
BENCH_SERIAL_VECTORS = 4
BENCH_TARGET = 'cpu'
BOARD = 'mps2-an386'
COMPARE_BUDGET = 'params'
STREAM_CALIBRATION_MINUTES = 30.0
QUANTIZE_CALIBRATION_SAMPLES = 300
COMPARE_CELLS = 'gru,lstm'
CHECK_TARGET = 'tflm'
COMPARE_OUT = 'compare'
COMPARE_PRUNE_EPOCHS = 10
COMPARE_UNITS = 64
SWEEP_CPUS_PER_TRIAL = 1.0
KWS_EVERY_MS = 200
FIRMWARE_BUILD_VECTORS = 8
FIRMWARE_RUN_KWS_TIMEOUT = 300
FIRMWARE_RUN_TIMEOUT = 120
FIRMWARE_STREAM_KWS_TIMEOUT = 60
EXPORT_FORMAT = 'onnx'
REPORT_FORMATS = ('md', 'html')
KWS_FRONTEND = 'python'
STREAM_MINUTES = 60.0
QUANTIZE_MODE = 'int8'
SYNTH_PER_WORD = 800
PRUNE_EPOCHS = 45
COMPARE_PRUNE_SPARSITIES = '0.5,0.75,0.9'
PRUNE_SPARSITY = 0.75
SWEEP_QUANT = 'int8'
BENCH_REPEATS = 3
SWEEP_RETRIES = 1
BENCH_RUNS = 200
SWEEP_SEARCH = 'grid'
SEED = 0
COMPARE_SEEDS = 3
COMPARE_SEQ_EPOCHS = 30
COMPARE_SEQ_LENS = '50,200,800'
COMPARE_SEQ_SAMPLES = 4000
SWEEP_EPOCHS = 3
SWEEP_LAYERS = '1'
SWEEP_OUT = 'sweep'
SWEEP_PRUNE_EPOCHS = 2
SWEEP_SPARSITY = '0'
SWEEP_UNITS = '16,32'
COMPARE_TARGETS = 'cpu,mcu:mps2-an386'
STREAM_TARGET_FA_PER_HOUR = 1.0
STUDY_TASK = 'kws'
ANOMALY_TEST_SECONDS = 120
BENCH_THREADS = 1
TRAIN_LAYERS = 1
ANOMALY_TRAIN_SECONDS = 150
TRAIN_UNITS = 64
BUNDLED_VAL_FRACTION = 0.2
ANOMALY_VAL_SECONDS = 40
BENCH_WARMUP = 20
SYNTH_WORKERS = 2
