"""Questionnaire content, rule tables and the obligations catalogue, as data."""
