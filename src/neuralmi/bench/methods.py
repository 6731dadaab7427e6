"""The methods ``neuralmi bench`` knows: this library's (neural and baselines) and the peers'.

Also :class:`BenchError`, the one-line usage/setup error of the whole bench (the lowest module
of the subpackage, so every other one can raise it).
"""

from __future__ import annotations

__all__ = [
    "BenchError",
    "NEURAL_METHODS",
    "BASELINE_METHODS",
    "OUR_METHODS",
    "PEER_METHODS",
    "DEFAULT_PEERS",
    "SLOW_PEERS",
    "applicable",
    "resolve_methods",
    "resolve_peer_methods",
]

#: this library's neural methods, in the order they run
NEURAL_METHODS: tuple[str, ...] = ("mine", "dv", "nwj", "infonce", "js", "smile", "tuba", "minee")
#: this library's non-parametric / closed-form baselines
BASELINE_METHODS: tuple[str, ...] = ("ksg", "ksg_lnc", "gaussian", "binned")
OUR_METHODS: tuple[str, ...] = NEURAL_METHODS + BASELINE_METHODS

#: the peers run by ``--peers`` unless ``--peer-methods`` says otherwise: the library-default
#: estimators that take ~0.1-90 s per case at n = 10,000 on a 2-core CPU
DEFAULT_PEERS: tuple[str, ...] = (
    "bmi:ksg",
    "bmi:cca",
    "bmi:mine",
    "bmi:infonce",
    "bmi:nwj",
    "bmi:dv",
    "torch_mist:nwj",
    "torch_mist:js",
    "torch_mist:smile",
    "torch_mist:tuba",
    "torch_mist:infonce",
)
#: peers left out of the default set, and why (measured in benchmarks/results/peers-baseline)
SLOW_PEERS: dict[str, str] = {
    "torch_mist:mine": "230 s on a 1-D Gaussian (no early stopping by default)",
    "torch_mist:doe": "150 s on a 1-D Gaussian (no early stopping by default)",
    "torch_mist:club": "146 s on a 1-D Gaussian; an upper bound, not an estimate",
    "torch_mist:binned": "87 s on a 1-D Gaussian (no early stopping by default)",
    "torch_mist:pq": "290 s on a 1-D Gaussian (no early stopping by default)",
    "torch_mist:l1out": "over 300 s at d = 5 (no early stopping by default)",
    "torch_mist:gm": "over 300 s at d = 25",
    "torch_mist:alpha_tuba": "large negative values or NaN on most cases with its defaults",
    "torch_mist:flo": "large negative values or NaN on most cases with its defaults",
    "bmi:histogram": "fails for d_x + d_y > 32; 0.3-1.3 nats off at d <= 6",
    "bmi:kde": "diverges with the dimension (17 nats for a 1.2-nat task at d = 25)",
}

#: every method the peers' runner knows (``peers_runner.py --list``), in its order; a test
#: checks that the two lists agree, and ``run_bench`` checks the runner it starts
PEER_METHODS: tuple[str, ...] = (
    "bmi:ksg",
    "bmi:cca",
    "bmi:histogram",
    "bmi:kde",
    "bmi:mine",
    "bmi:infonce",
    "bmi:nwj",
    "bmi:dv",
    "torch_mist:mine",
    "torch_mist:nwj",
    "torch_mist:infonce",
    "torch_mist:js",
    "torch_mist:smile",
    "torch_mist:tuba",
    "torch_mist:alpha_tuba",
    "torch_mist:flo",
    "torch_mist:doe",
    "torch_mist:gm",
    "torch_mist:l1out",
    "torch_mist:club",
    "torch_mist:binned",
    "torch_mist:pq",
)


class BenchError(ValueError):
    """A usage or setup problem of ``neuralmi bench`` (one line, exit status 2 on the CLI)."""


def resolve_methods(text: str | None) -> list[str]:
    """Our methods for a selection: None/"all", "none", or comma-separated names and the groups
    "neural" and "baselines".

    Raises:
        BenchError: an unknown name.
    """
    if text is None or text.strip() == "all":
        return list(OUR_METHODS)
    items = [p.strip() for p in text.split(",") if p.strip()]
    if items == ["none"]:
        return []
    if not items:
        raise BenchError("--methods: empty selection (use 'none' to run only the peers)")
    out: list[str] = []
    for item in items:
        if item == "neural":
            chosen = list(NEURAL_METHODS)
        elif item == "baselines":
            chosen = list(BASELINE_METHODS)
        elif item in OUR_METHODS:
            chosen = [item]
        elif ":" in item:
            raise BenchError(f"--methods: {item!r} is a peer method; select peers with --peers --peer-methods")
        else:
            raise BenchError(
                f"--methods: unknown method {item!r}; known: {', '.join(OUR_METHODS)}, 'neural', 'baselines', 'all', 'none'"
            )
        out.extend(m for m in chosen if m not in out)
    return out


def resolve_peer_methods(text: str | None) -> list[str]:
    """Peer methods for a selection: None/"default" (:data:`DEFAULT_PEERS`), "all", library
    names ("bmi", "torch_mist") or comma-separated ``library:method`` names
    (:data:`PEER_METHODS`, the runner's ``--list``).

    Raises:
        BenchError: an unknown name.
    """
    if text is None or text.strip() == "default":
        return list(DEFAULT_PEERS)
    items = [p.strip() for p in text.split(",") if p.strip()]
    if not items:
        raise BenchError("--peer-methods: empty selection")
    libraries = {name.split(":", 1)[0] for name in PEER_METHODS}
    out: list[str] = []
    for item in items:
        if item == "default":
            chosen = list(DEFAULT_PEERS)
        elif item == "all":
            chosen = list(PEER_METHODS)
        elif item in libraries:
            chosen = [name for name in PEER_METHODS if name.split(":", 1)[0] == item]
        elif item in PEER_METHODS:
            chosen = [item]
        else:
            raise BenchError(
                f"--peer-methods: unknown peer method {item!r}; known: {', '.join(PEER_METHODS)}, "
                f"{', '.join(sorted(libraries))}, 'default', 'all'"
            )
        out.extend(m for m in chosen if m not in out)
    return out


def applicable(method: str, dim_x: int, dim_y: int) -> str | None:
    """Why ``method`` (with its defaults) cannot run on a task of these dimensions, or None."""
    if method == "binned":
        from ..nonparametric import _MAX_BINNED_DIM, _MAX_BINNED_JOINT_DIM

        if dim_x > _MAX_BINNED_DIM or dim_y > _MAX_BINNED_DIM or dim_x + dim_y > _MAX_BINNED_JOINT_DIM:
            return f"binned needs d_x, d_y <= {_MAX_BINNED_DIM} and d_x + d_y <= {_MAX_BINNED_JOINT_DIM}"
    if method == "ksg_lnc" and dim_x + dim_y > 5:
        return "ksg_lnc with its default k = 5 needs d_x + d_y <= 5"
    return None
