"""The options every side of the benchmark shares: the network benchmarked and the run's length.
pytorch_bench.py, export_onnx.py and compare.py read them alike (ddim bench has the same names)."""


def add_network_arguments(p):
    """The paper's U-Net and the batch: --widths, --block-depth, --embedding-dims, --image-size,
    --channels, --batch."""
    p.add_argument("--widths", default="32,64,96,128")
    p.add_argument("--block-depth", type=int, default=2)
    p.add_argument("--embedding-dims", type=int, default=32)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)


def add_run_arguments(p):
    """Timed iterations, untimed ones first, DDIM steps per sampling or inversion iteration, and
    (inversion) fixed-point refinements per step, 0 for plain DDIM inversion."""
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--fixed-point", type=int, default=0)
