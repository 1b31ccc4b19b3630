"""Version of the classification rules and questionnaire content.

Bump it whenever a question, a condition, a rule table or an obligation changes, so every stored
determination can be traced to the rules that produced it. Format: YYYY.MM-N.
"""

RULES_VERSION = "2026.12-1"
