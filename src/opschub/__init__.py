"""opschub: mechanisms of the Optional Protocol on the sale of children as one system."""

__version__ = "0.1.0"
