"""python -m examples.garage: serve the garage on SITE_URL's port (5002 by default)."""

from examples import site
from examples.garage import create_app, signals

app = create_app()
signals.start_registration(app)  # the Shared Signals stream at Avain
app.run(host="127.0.0.1", port=site.port(app), debug=False)
