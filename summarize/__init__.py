"""summarize: grounded event records and neutral multi-source briefings from news articles."""

__version__ = "0.1.0"
