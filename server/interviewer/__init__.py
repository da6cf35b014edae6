"""The interviewer policy: which move comes next. Pure Python, no web or model imports."""
