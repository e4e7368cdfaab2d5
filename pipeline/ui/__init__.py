"""Streamlit pages. Imported only by dashboard.py: ``import pipeline`` never loads streamlit.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""
