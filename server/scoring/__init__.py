"""Scoring an answer: content coverage of the rubric, delivery metrics, the overall mark.

Pure Python and NumPy over plain data. The sentence embedder is passed in as a
function, so nothing here imports a model or web library.
"""
