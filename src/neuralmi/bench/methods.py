"""The methods ``neuralmi bench`` knows: this library's (neural and baselines) and the peers'.

Also :class:`BenchError`, the one-line usage/setup error of the whole bench (the lowest module
of the subpackage, so every other one can raise it).
"""

from __future__ import annotations

__all__ = [
    "KINDS",
    "SUITE_KIND",
    "CONDITIONAL_METHODS",
    "DISCRETE_METHODS",
    "EXTRA_METHODS",
    "CONDITIONAL_PEERS",
    "DISCRETE_PEERS",
    "kind_methods",
    "kind_peers",
    "peer_applicable",
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

#: what a suite estimates: I(X; Y) ("mi"), I(X; Y | Z) ("conditional", tasks with ``z`` and
#: ``.cmi``) or I(X; Y) with a discrete side ("discrete", tasks with ``.discrete``)
KINDS: tuple[str, ...] = ("mi", "conditional", "discrete")
#: the kind of every suite of ``--suite``
SUITE_KIND: dict[str, str] = {"default": "mi", "beyond-normal": "mi", "conditional": "conditional", "discrete": "discrete"}

#: our methods on the conditional suite: ``default`` is ``neuralmi.estimate(x, y, z=z)`` (the
#: chain rule, neural), then the baselines ``gaussian_cmi`` and ``ksg_cmi`` (k = 3)
CONDITIONAL_METHODS: tuple[str, ...] = ("default", "gaussian_cmi", "ksg_cmi")
#: our methods on the discrete suite: ``default`` is ``neuralmi.estimate(x, y,
#: discrete=task.discrete)`` (the classifier bound for labels, the jackknifed plug-in for two
#: discrete sides), ``mixed_ksg`` (Gao et al. 2017, k = 5) and ``plugin``, the plain plug-in
#: without bias correction (two discrete sides only)
DISCRETE_METHODS: tuple[str, ...] = ("default", "mixed_ksg", "plugin")
#: methods run only when named in ``--methods`` (not in "all"): the conditional estimate's
#: other strategy (``direct``: the local-permutation bound) and option (``residualized``)
EXTRA_METHODS: dict[str, tuple[str, ...]] = {"mi": (), "conditional": ("direct", "residualized"), "discrete": ()}

#: the peers of the conditional suite: npeet-plus's ``mi(x, y, z)`` (Frenzel-Pompe KSG CMI,
#: k = 3) and infomeasure's ``cmi(..., approach="ksg")`` (its default k = 4)
CONDITIONAL_PEERS: tuple[str, ...] = ("npeet_plus:cmi", "infomeasure:cmi_ksg")
#: the peers of the discrete suite, each with its estimator for each kind of task (labels with
#: continuous features / two discrete sides): npeet-plus ``micd`` / ``midd``; infomeasure KSG on
#: the label codes / ``miller_madow``; scikit-learn ``mutual_info_classif`` (per feature: the
#: largest, each being a lower bound on I(X; Y)) / the same with ``discrete_features=True``; and
#: ``mutual_info_regression`` with the label as a discrete feature and each feature as the target
#: (labels only: the same Ross 2014 estimator with the roles swapped)
DISCRETE_PEERS: tuple[str, ...] = (
    "npeet_plus:micd+midd",
    "infomeasure:ksg+miller_madow",
    "sklearn:mutual_info_classif",
    "sklearn:mutual_info_regression",
)

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
    *CONDITIONAL_PEERS,
    *DISCRETE_PEERS,
)


class BenchError(ValueError):
    """A usage or setup problem of ``neuralmi bench`` (one line, exit status 2 on the CLI)."""


def kind_methods(kind: str = "mi") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Our methods for a kind of suite (:data:`KINDS`): ``(neural, baselines)``; "all" selects
    both, :data:`EXTRA_METHODS` are run only when named."""
    if kind == "conditional":
        return CONDITIONAL_METHODS[:1], CONDITIONAL_METHODS[1:]
    if kind == "discrete":
        return DISCRETE_METHODS[:1], DISCRETE_METHODS[1:]
    return NEURAL_METHODS, BASELINE_METHODS


def kind_peers(kind: str = "mi") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The peer methods for a kind of suite: ``(default, all)``."""
    if kind == "conditional":
        return CONDITIONAL_PEERS, CONDITIONAL_PEERS
    if kind == "discrete":
        return DISCRETE_PEERS, DISCRETE_PEERS
    every = tuple(m for m in PEER_METHODS if m not in CONDITIONAL_PEERS and m not in DISCRETE_PEERS)
    return DEFAULT_PEERS, every


def resolve_methods(text: str | None, kind: str = "mi") -> list[str]:
    """Our methods for a selection on a kind of suite: None/"all", "none", or comma-separated
    names and the groups "neural" and "baselines" (:func:`kind_methods`; on the conditional suite
    also "direct" and "residualized", run only when named).

    Raises:
        BenchError: an unknown name.
    """
    neural, baselines = kind_methods(kind)
    standard = neural + baselines
    known = standard + EXTRA_METHODS.get(kind, ())
    if text is None or text.strip() == "all":
        return list(standard)
    items = [p.strip() for p in text.split(",") if p.strip()]
    if items == ["none"]:
        return []
    if not items:
        raise BenchError("--methods: empty selection (use 'none' to run only the peers)")
    out: list[str] = []
    for item in items:
        if item == "all":
            chosen = list(standard)
        elif item == "neural":
            chosen = list(neural)
        elif item == "baselines":
            chosen = list(baselines)
        elif item in known:
            chosen = [item]
        elif ":" in item:
            raise BenchError(f"--methods: {item!r} is a peer method; select peers with --peers --peer-methods")
        else:
            where = "" if kind == "mi" else f" on the {kind} suite"
            raise BenchError(
                f"--methods: unknown method {item!r}{where}; known: {', '.join(known)}, 'neural', 'baselines', 'all', 'none'"
            )
        out.extend(m for m in chosen if m not in out)
    return out


def resolve_peer_methods(text: str | None, kind: str = "mi") -> list[str]:
    """Peer methods for a selection on a kind of suite: None/"default" (:func:`kind_peers`:
    :data:`DEFAULT_PEERS` for MI), "all", library names ("bmi", "torch_mist"; "npeet_plus",
    "infomeasure", "sklearn") or comma-separated ``library:method`` names (those of
    :data:`PEER_METHODS`, the runner's ``--list``, that estimate what the suite's tasks hold).

    Raises:
        BenchError: an unknown name, or a peer method of another kind of suite.
    """
    default, every = kind_peers(kind)
    if text is None or text.strip() == "default":
        return list(default)
    items = [p.strip() for p in text.split(",") if p.strip()]
    if not items:
        raise BenchError("--peer-methods: empty selection")
    libraries = {name.split(":", 1)[0] for name in every}
    out: list[str] = []
    for item in items:
        if item == "default":
            chosen = list(default)
        elif item == "all":
            chosen = list(every)
        elif item in libraries:
            chosen = [name for name in every if name.split(":", 1)[0] == item]
        elif item in every:
            chosen = [item]
        else:
            other = next((k for k in KINDS if k != kind and item in kind_peers(k)[1]), None)
            hint = f" (a peer of the {other} suite)" if other else ""
            raise BenchError(
                f"--peer-methods: unknown peer method {item!r}{hint}; known: {', '.join(every)}, "
                f"{', '.join(sorted(libraries))}, 'default', 'all'"
            )
        out.extend(m for m in chosen if m not in out)
    return out


def peer_applicable(method: str, discrete: str | None) -> str | None:
    """Why a peer method cannot run on a task with this discrete side (``"y"``, ``"xy"`` or
    None), or None."""
    if method == "sklearn:mutual_info_regression" and discrete != "y":
        return "mutual_info_regression needs a continuous side (the target): labels with continuous features only"
    return None


def applicable(method: str, dim_x: int, dim_y: int, discrete: str | None = None) -> str | None:
    """Why ``method`` (with its defaults) cannot run on a task of these dimensions (and, on the
    discrete suite, with this discrete side), or None."""
    if discrete is not None:
        return "plugin needs two discrete sides" if method == "plugin" and discrete != "xy" else None
    if method == "binned":
        from ..nonparametric import _MAX_BINNED_DIM, _MAX_BINNED_JOINT_DIM

        if dim_x > _MAX_BINNED_DIM or dim_y > _MAX_BINNED_DIM or dim_x + dim_y > _MAX_BINNED_JOINT_DIM:
            return f"binned needs d_x, d_y <= {_MAX_BINNED_DIM} and d_x + d_y <= {_MAX_BINNED_JOINT_DIM}"
    if method == "ksg_lnc" and dim_x + dim_y > 5:
        return "ksg_lnc with its default k = 5 needs d_x + d_y <= 5"
    return None
