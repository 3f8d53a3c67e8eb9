"""OODA Forge wargame console: ``streamlit run app.py`` (or ``wargame console``).

The page lives in `planner.console_app` so that it is installed with the package.
"""

from planner.console_app import main

main()
