"""docker-compose.yml puts nginx in front of web, and web trusts exactly that one hop of
X-Forwarded-For (docs/security.md, "Login"): scripts/check-compose refuses a stack where a
client could reach web directly or where web trusts a number of hops that is not there."""
import pytest

from tests.core.test_db_roles import COMPOSE, REPO, check_compose

WEB_ENV = '      TRUSTED_PROXY_COUNT: "1"\n'
WEB_EXPOSE = '    expose:\n      - "8000"\n'
BROKEN = {
    "web publishes its port": (WEB_EXPOSE, WEB_EXPOSE + '    ports:\n      - "8001:8000"\n',
                               "web must not publish a port"),
    "web trusts no proxy": (WEB_ENV, "", "TRUSTED_PROXY_COUNT must be 1"),
    "web trusts two proxies": (WEB_ENV, '      TRUSTED_PROXY_COUNT: "2"\n', "TRUSTED_PROXY_COUNT must be 1"),
    "no proxy config": ("      - ./deploy/nginx/lailiao.conf:/etc/nginx/conf.d/default.conf:ro\n", "",
                        "mount the nginx config"),
    "proxy publishes nothing": ('    ports:\n      - "${WEB_PORT:-8000}:80"\n', "",
                                "the proxy must publish the port clients use"),
}


def test_the_compose_file_has_web_behind_the_proxy(tmp_path):
    assert WEB_ENV in COMPOSE and WEB_EXPOSE in COMPOSE
    result = check_compose(tmp_path, COMPOSE)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("old, new, error", BROKEN.values(), ids=BROKEN.keys())
def test_check_compose_refuses_a_bypassable_proxy(tmp_path, old, new, error):
    assert old in COMPOSE
    result = check_compose(tmp_path, COMPOSE.replace(old, new, 1))
    assert result.returncode == 1
    assert error in result.stderr


def test_the_nginx_config_appends_the_client_address(tmp_path):
    (tmp_path / "deploy" / "nginx").mkdir(parents=True)
    (tmp_path / "Dockerfile").symlink_to(REPO / "Dockerfile")
    (tmp_path / "deploy" / "postgres").symlink_to(REPO / "deploy" / "postgres")
    # a config that passes the client's own header through unchanged lets it forge its address
    (tmp_path / "deploy" / "nginx" / "lailiao.conf").write_text(
        "server { location / { proxy_pass http://web:8000; proxy_set_header X-Forwarded-For $http_x_forwarded_for;"
        " proxy_set_header Upgrade $http_upgrade; } }\n")
    result = check_compose(tmp_path, COMPOSE)
    assert result.returncode == 1
    assert "$proxy_add_x_forwarded_for" in result.stderr
