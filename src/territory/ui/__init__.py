"""Streamlit helpers shared by the pages: the only part of the package importing streamlit."""
