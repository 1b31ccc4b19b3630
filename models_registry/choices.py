from django.db import models


class LifecycleStage(models.TextChoices):
    IDEA = "idea", "Idea"
    DEVELOPMENT = "development", "Development"
    VALIDATION = "validation", "Validation"
    DEPLOYED = "deployed", "Deployed"
    RETIRED = "retired", "Retired"


class OperatorRole(models.TextChoices):
    PROVIDER = "provider", "Provider"
    DEPLOYER = "deployer", "Deployer"
    IMPORTER = "importer", "Importer"
    DISTRIBUTOR = "distributor", "Distributor"


class RiskTier(models.TextChoices):
    """Set only from an approved EU AI Act determination (governance app)."""

    UNCLASSIFIED = "unclassified", "Not classified"
    PROHIBITED = "prohibited", "Prohibited"
    HIGH = "high", "High risk"
    LIMITED = "limited", "Transparency obligations"
    MINIMAL = "minimal", "Minimal risk"
    OUT_OF_SCOPE = "out_of_scope", "Out of scope"


class Framework(models.TextChoices):
    SKLEARN = "sklearn", "scikit-learn"
    XGBOOST = "xgboost", "XGBoost"
    LIGHTGBM = "lightgbm", "LightGBM"
    ONNX = "onnx", "ONNX"
    OTHER = "other", "Other"


class Task(models.TextChoices):
    BINARY = "binary", "Binary classification"
    MULTICLASS = "multiclass", "Multiclass classification"
    REGRESSION = "regression", "Regression"


class DatasetRole(models.TextChoices):
    TRAIN = "train", "Train"
    TEST = "test", "Test"
    REFERENCE = "reference", "Reference"
    PRODUCTION = "production", "Production"


class ScanVerdict(models.TextChoices):
    SAFE = "safe", "Safe"
    REFUSED = "refused", "Refused"


class ArtifactKind(models.TextChoices):
    MODEL = "model", "Model file"
    DATASET = "dataset", "Dataset"
