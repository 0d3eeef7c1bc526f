"""python -m examples.garage: serve the garage on SITE_URL's port (5002 by default)."""

from examples import site
from examples.garage import create_app

app = create_app()
app.run(host="127.0.0.1", port=site.port(app), debug=False)
