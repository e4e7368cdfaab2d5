"""Streamlit pages. Imported only by dashboard.py: ``import pipeline`` never loads streamlit."""
