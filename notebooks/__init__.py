"""The notebook series: sources in notebooks/source/, built into notebooks/zh/ and notebooks/en/."""
