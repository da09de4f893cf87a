"""Classification around the plugins: scoring classifiers against labelled corpora."""
