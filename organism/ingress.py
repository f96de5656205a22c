"""The OrganismManager's FastAPI app, shared by the modules that add its routes."""

from fastapi import FastAPI

from service_common.http import install_http_conventions

app = FastAPI(title="OrganismManager", summary="Task routing (rules, registry, organs) and job routing (miners)")
install_http_conventions(app)
