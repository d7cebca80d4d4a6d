"""phyper: typed hyperparameters, content-hashed resources and pandas views for ML pipelines.

>>> import phyper
>>> class Instance(phyper.Parser):
...     seed = 0
...     transformation = 'identity'
>>> parser = Instance(hashed_resources_folder='derived_data')
>>> parser.register_new_resource('transformed_data', dependencies=['transformation'])
>>> [i.seed for i in parser.get_instances_from_dictionary({'seed': [0, 1]})]
[0, 1]
"""

from importlib.metadata import PackageNotFoundError, version

from ._collect import MissingResultsError, MissingResultsWarning, collect, collect_from_disk
from ._errors import (
    DeclarationError,
    DuplicateInstanceWarning,
    FrozenInstanceError,
    HashNotFoundError,
    HyperparameterTypeError,
    HyperparameterValueError,
    MetadataError,
    PhyperError,
    ResourceError,
    SweepFileError,
    UnknownHyperparameterError,
    UnknownResourceError,
)
from ._frame import declarations as describe
from ._hashing import HASH_SPEC_VERSION, hash_values
from ._lookup import InstanceList
from ._migrate import migrate_from_original
from ._parser import Parser
from ._scan import scan
from ._schema import hyperparameter, non_key
from ._status import status
from ._store import INFO_FILE, WriteReport, atomic_output

# the distribution's name on PyPI; the import name stays `phyper`
_DISTRIBUTION = "phyper-ml"

try:
    __version__ = version(_DISTRIBUTION)  # one number, in pyproject.toml
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "HASH_SPEC_VERSION",
    "INFO_FILE",
    "DeclarationError",
    "DuplicateInstanceWarning",
    "FrozenInstanceError",
    "HashNotFoundError",
    "HyperparameterTypeError",
    "HyperparameterValueError",
    "InstanceList",
    "MetadataError",
    "MissingResultsError",
    "MissingResultsWarning",
    "Parser",
    "PhyperError",
    "ResourceError",
    "SweepFileError",
    "UnknownHyperparameterError",
    "UnknownResourceError",
    "WriteReport",
    "__version__",
    "atomic_output",
    "collect",
    "collect_from_disk",
    "describe",
    "hash_values",
    "hyperparameter",
    "migrate_from_original",
    "non_key",
    "scan",
    "status",
]
