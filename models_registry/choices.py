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


class Sector(models.TextChoices):
    """The Annex III area the system is used in, with the codes of the EU AI Act questionnaire's
    area question (governance.rules `annex3_areas`; a test keeps the two the same). Blank on the
    system means "not stated"; "none" means outside every Annex III area."""

    CRITICAL_INFRASTRUCTURE = "critical_infrastructure", "Critical infrastructure"
    EDUCATION = "education", "Education and vocational training"
    EMPLOYMENT = "employment", "Employment, workers' management, access to self-employment"
    ESSENTIAL_SERVICES = "essential_services", "Essential private and public services and benefits"
    LAW_ENFORCEMENT = "law_enforcement", "Law enforcement"
    MIGRATION = "migration", "Migration, asylum and border control"
    JUSTICE_DEMOCRACY = "justice_democracy", "Administration of justice and democratic processes"
    NONE = "none", "None of these (not in an Annex III area)"


class AffectedGroup(models.TextChoices):
    """Who the system's outputs affect (a system lists any number of these)."""

    CUSTOMERS = "customers", "Customers"
    EMPLOYEES = "employees", "Employees"
    JOB_APPLICANTS = "job_applicants", "Job applicants"
    STUDENTS = "students", "Students"
    PATIENTS = "patients", "Patients"
    PUBLIC = "public", "The public"
    CHILDREN = "children", "Children"
    MIGRANTS = "migrants", "Migrants"
    LAW_ENFORCEMENT_SUBJECTS = "law_enforcement_subjects", "Subjects of law enforcement"
