"""Who may open the PDF report pages (tests/foundation/test_access_matrix.py)."""
ACCESS = {"reports.": {"admin", "filiale", "dealer_manager", "dealer_staff"}}
# The task pages take a task id: tests/reports/test_report_jobs.py checks their scoping (404).
SKIP = ()
