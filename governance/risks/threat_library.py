"""The built-in AI threat library: threats drawn from the OWASP Top 10 for LLM applications, the
OWASP Machine Learning Security Top 10 and MITRE ATLAS, described in the portal's own words.

This is data. The data migration copies it into `Threat` rows without an organisation (the
built-ins); an organisation adds its own rows next to them. `references` name the catalogue
entries a threat corresponds to, so a security reviewer can look them up.
"""

from __future__ import annotations

LIBRARY_VERSION = "2026.1"

_CT = "third_party_model"
BUILT_IN_THREATS: list[dict] = [
    {
        "code": "prompt_injection",
        "name": "Prompt injection",
        "references": ["OWASP LLM01", "MITRE ATLAS AML.T0051"],
        "description": "Text supplied by a user, or hidden in a document, web page or e-mail the model reads, "
        "is treated as instructions and overrides what the application meant the model to do.",
        "typical_controls": [
            "Keep system instructions and untrusted content in separate, labelled channels",
            "Give the model only the tools and data the current user may use",
            "Filter and log inputs and retrieved content; alert on known injection patterns",
            "Ask a human to confirm actions with side effects",
        ],
        "components": ["serving_endpoint", "retrieval_store", _CT],
    },
    {
        "code": "jailbreak",
        "name": "Jailbreak",
        "references": ["OWASP LLM01", "MITRE ATLAS AML.T0054"],
        "description": "Crafted conversations (role play, encodings, many-shot examples) talk the model out of "
        "its safety behaviour so it produces content the organisation has ruled out.",
        "typical_controls": [
            "Independent output moderation after the model",
            "Red-team the model before each release",
            "Rate-limit and review accounts that repeatedly trigger refusals",
        ],
        "components": ["serving_endpoint", _CT],
    },
    {
        "code": "data_poisoning",
        "name": "Training data poisoning",
        "references": ["OWASP ML02", "OWASP LLM04", "MITRE ATLAS AML.T0020"],
        "description": "Someone who can influence training or fine-tuning data slips in records that plant a "
        "backdoor or bias the model, so it misbehaves on inputs the attacker chooses.",
        "typical_controls": [
            "Record provenance and hashes of every training dataset",
            "Restrict who can write to training data; review changes",
            "Look for outliers and label inconsistencies before training",
            "Compare model behaviour against a trusted reference set after training",
        ],
        "components": ["data_source", "training_pipeline"],
    },
    {
        "code": "evasion",
        "name": "Adversarial input manipulation (evasion)",
        "references": ["OWASP ML01", "MITRE ATLAS AML.T0015"],
        "description": "Inputs are changed slightly, often imperceptibly to a person, so the model gives the "
        "answer the attacker wants — for example a fraudulent application scored as safe.",
        "typical_controls": [
            "Robustness tests with perturbed inputs before release",
            "Validate input ranges and types at the endpoint",
            "Monitor the input distribution for drift and unusual clusters",
        ],
        "components": ["serving_endpoint"],
    },
    {
        "code": "model_inversion",
        "name": "Model inversion",
        "references": ["OWASP ML03", "MITRE ATLAS AML.T0024.001"],
        "description": "By querying the model and studying its outputs, an attacker reconstructs features of "
        "the people in the training data, such as a face or a sensitive attribute.",
        "typical_controls": [
            "Return labels or coarse scores rather than full probability vectors",
            "Rate-limit and monitor queries per client",
            "Train with differential privacy where the data is sensitive",
        ],
        "components": ["serving_endpoint", "model_store"],
    },
    {
        "code": "membership_inference",
        "name": "Membership inference",
        "references": ["OWASP ML04", "MITRE ATLAS AML.T0024.000"],
        "description": "An attacker tells whether a given person's record was used to train the model, which "
        "itself can reveal something sensitive (for example, being a patient of a clinic).",
        "typical_controls": [
            "Run the portal's membership-inference check on each version",
            "Reduce overfitting (regularisation, early stopping)",
            "Limit output precision; differential privacy for sensitive data",
        ],
        "components": ["serving_endpoint", "model_store"],
    },
    {
        "code": "model_theft",
        "name": "Model theft and extraction",
        "references": ["OWASP ML05", "OWASP LLM10", "MITRE ATLAS AML.T0024.002"],
        "description": "The model's weights are copied from storage, or a functional copy is rebuilt by "
        "querying the endpoint at scale, losing intellectual property and enabling further attacks.",
        "typical_controls": [
            "Encrypt the model store and restrict access to it",
            "Authenticate clients; quotas and anomaly detection on query volume",
            "Watermark or fingerprint models where possible",
        ],
        "components": ["model_store", "serving_endpoint"],
    },
    {
        "code": "supply_chain",
        "name": "Supply-chain compromise of models and packages",
        "references": ["OWASP ML06", "OWASP LLM03", "MITRE ATLAS AML.T0010"],
        "description": "A pre-trained model, dataset or software package from outside is tampered with or "
        "malicious — for example a pickled model that runs code when loaded, or a look-alike package.",
        "typical_controls": [
            "Load models only in safe formats and scan them (the portal's upload scanner)",
            "Pin dependencies with hashes; use an internal mirror",
            "Keep a bill of materials for models and datasets",
            "Vendor due diligence",
        ],
        "components": ["training_pipeline", "model_store", _CT],
    },
    {
        "code": "sensitive_information_disclosure",
        "name": "Sensitive information disclosure",
        "references": ["OWASP LLM02", "MITRE ATLAS AML.T0057"],
        "description": "The model or the application around it reveals personal data, secrets or confidential "
        "documents — memorised from training data, or fetched from a store the user should not see.",
        "typical_controls": [
            "Remove or mask personal data before training and indexing",
            "Enforce the user's access rights in retrieval, not in the prompt",
            "Scan outputs for personal data and secrets",
        ],
        "components": ["serving_endpoint", "retrieval_store", "data_source"],
    },
    {
        "code": "excessive_agency",
        "name": "Excessive agency",
        "references": ["OWASP LLM06"],
        "description": "An assistant connected to tools or systems can do more than its task needs, so a "
        "mistake or a manipulated instruction turns into a real action (a payment, a deletion, an e-mail).",
        "typical_controls": [
            "Give each tool the least privilege it needs",
            "Human approval for consequential actions",
            "Log every tool call with the user it acted for",
        ],
        "components": ["serving_endpoint", _CT],
    },
    {
        "code": "insecure_output_handling",
        "name": "Insecure output handling",
        "references": ["OWASP LLM05"],
        "description": "Model output is passed to a browser, shell, database or another system without checks, "
        "so generated text becomes cross-site scripting, code execution or injection.",
        "typical_controls": [
            "Treat model output as untrusted input: encode, validate and sandbox it",
            "Never execute generated code outside an isolated sandbox",
        ],
        "components": ["serving_endpoint"],
    },
    {
        "code": "denial_of_service",
        "name": "Model denial of service and cost exhaustion",
        "references": ["OWASP LLM10", "MITRE ATLAS AML.T0029"],
        "description": "Expensive or very long requests exhaust compute, memory or a paid API budget, making "
        "the service slow or unavailable for everyone else.",
        "typical_controls": [
            "Limit input size, output length and request rate per client",
            "Budgets and alerts on third-party API spend",
            "Timeouts and queue limits at the endpoint",
        ],
        "components": ["serving_endpoint", _CT],
    },
    {
        "code": "retrieval_poisoning",
        "name": "Retrieval store poisoning",
        "references": ["OWASP LLM08", "MITRE ATLAS AML.T0070"],
        "description": "Documents planted or altered in a vector store or search index steer the answers of a "
        "retrieval-augmented system, or carry injected instructions.",
        "typical_controls": [
            "Control and log who can add documents to the index",
            "Keep source and date with every chunk and show them to users",
            "Re-index from trusted sources on a schedule",
        ],
        "components": ["retrieval_store", "data_source"],
    },
]
