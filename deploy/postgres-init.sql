-- LiteLLM's own database, beside Hearth's (used by the litellm profile of docker-compose.yml).
CREATE DATABASE litellm;
