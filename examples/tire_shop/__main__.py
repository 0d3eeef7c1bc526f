"""python -m examples.tire_shop: serve the shop on SITE_URL's port (5001 by default)."""

from examples import site
from examples.tire_shop import create_app

app = create_app()
app.run(host="127.0.0.1", port=site.port(app), debug=False)
