"""What scikit-learn asks of an estimator beyond ``get_params``/``set_params``, without importing it.

scikit-learn (>= 1.6) reads an estimator's tags through ``__sklearn_tags__`` in ``clone``,
``GridSearchCV`` and friends. Only scikit-learn calls it, so scikit-learn is imported there and
nowhere else: the package itself never needs it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SklearnTagsMixin"]


class SklearnTagsMixin:
    """Tags for an MI estimator: ``fit(x, y)`` needs both (``y`` plays scikit-learn's target),
    2-D (or 1-D) numeric arrays without NaN; results vary with the seed."""

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(
            estimator_type=None,
            target_tags=TargetTags(required=True, one_d_labels=True, two_d_labels=True, multi_output=True, single_output=True),
            input_tags=InputTags(one_d_array=True, two_d_array=True),
            non_deterministic=True,
        )
