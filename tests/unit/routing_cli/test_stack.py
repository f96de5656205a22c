"""The `make run` banner: the addresses Ray chose, every app's docs, a token per role, the commands."""

from pathlib import Path

from routing_cli.stack import banner
from servekit.identity import Role


def test_the_banner_shows_what_ray_chose_and_how_to_go_on():
    text = banner("http://127.0.0.1:8000", "/srv/state", "http://127.0.0.1:8266", [41234],
                  {role: f"token-of-{role.value}" for role in Role}, Path("/tmp/rcp-x/signing-key.pem"))
    for expected in [
        "http://127.0.0.1:8000/organism/docs", "http://127.0.0.1:8000/pipeline/docs", "http://127.0.0.1:8000/cognitive/docs",
        "Ray dashboard  http://127.0.0.1:8266", "http://127.0.0.1:41234/metrics",
        "export SERVICE_TOKEN=token-of-service", "export FACTS_TOKEN=token-of-facts", "export ADMIN_TOKEN=token-of-admin",
        "ROUTING_TOKEN_PRIVATE_KEY_FILE=/tmp/rcp-x/signing-key.pem routing token",
        "serve status --address http://127.0.0.1:8266", "routing status",
    ]:
        assert expected in text, expected

