"""The SSRF guard and the URL fetcher against local servers of the tests' own. Refused
targets are proved never connected to: a recording network backend sees no connection
attempt, and a `Trap` listening where the request would have gone counts none."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import time
import typing
from collections.abc import Iterator
from pathlib import Path

import httpcore
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from assetlens.errors import PayloadTooLarge
from assetlens.urlfetch import (
    AddressPolicy,
    RefusedTarget,
    UpstreamError,
    UpstreamTimeout,
    UrlFetcher,
    is_public,
)
from assetlens.urlfetch.guard import Address
from tests.support.origin import (
    Trap,
    drip,
    file,
    free_port,
    redirect,
    serving,
    status,
    unbounded,
)

LOOPBACK = [ipaddress.ip_network("127.0.0.1/32")]  # stands for "the public internet" here
MB = 1 << 20
DATA = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class Recording(httpcore.NetworkBackend):
    """The real socket backend, recording every address a connection is opened to."""

    def __init__(self) -> None:
        self.inner = httpcore.SyncBackend()
        self.connected: list[str] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        self.connected.append(host)
        return self.inner.connect_tcp(host, port, timeout, local_address, socket_options)


class Answers:
    """A DNS that answers each lookup with the next list of addresses (the last repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = [[ipaddress.ip_address(a) for a in answer] for answer in answers]
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int, timeout: float) -> list[Address]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


@pytest.fixture
def network() -> Recording:
    return Recording()


@pytest.fixture
def trap() -> Iterator[Trap]:
    t = Trap("127.0.0.1")
    yield t
    t.close()


def fetcher(
    tmp_path: Path,
    network: Recording,
    *,
    allow: list[typing.Any] | None = None,
    timeout: float = 10.0,
    **kwargs: typing.Any,
) -> UrlFetcher:
    return UrlFetcher(
        AddressPolicy(allow or []),
        timeout=timeout,
        spool_dir=tmp_path / "spool",
        network=network,
        **kwargs,
    )


def any_size(_: str) -> int:
    return 10 * MB


# -- the address rule -------------------------------------------------------------------------

REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "198.18.0.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b::a00:1",
    "64:ff9b:1::1",
    "2002:7f00:1::1",
    "2002:a00:1::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
]
PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:93.184.216.34",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    assert not AddressPolicy().permits(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_permitted(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_the_allow_list_opens_only_its_networks() -> None:
    policy = AddressPolicy(LOOPBACK)
    assert policy.permits(ipaddress.ip_address("127.0.0.1"))
    assert policy.permits(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.2"))
    assert not policy.permits(ipaddress.ip_address("10.0.0.1"))


# -- refused before any connection ------------------------------------------------------------


@pytest.mark.parametrize("address", REFUSED)
def test_a_host_resolving_to_a_refused_address_is_never_connected_to(
    tmp_path: Path, network: Recording, address: str
) -> None:
    dns = Answers([address])
    with pytest.raises(RefusedTarget):
        fetcher(tmp_path, network, resolver=dns).fetch("http://assets.example/a.png", any_size)
    assert dns.lookups == ["assets.example"]
    assert network.connected == []


@pytest.mark.parametrize(
    "spelling",
    [
        "2130706433",
        "0177.0.0.1",
        "0x7f.1",
        "0x7f000001",
        "127.1",
        "017700000001",
        "localhost",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
    ],
)
def test_numeric_spellings_of_loopback_are_resolved_and_refused(
    tmp_path: Path, network: Recording, trap: Trap, spelling: str
) -> None:
    url = f"http://{spelling}:{trap.port}/a.png"
    with pytest.raises(RefusedTarget):
        fetcher(tmp_path, network).fetch(url, any_size)  # the operating system's resolver
    assert network.connected == []
    assert trap.connections == 0


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "gopher://example.com/",
        "data:,x",
        "javascript:alert(1)",
        "dict://127.0.0.1:11211/",
        "//example.com/a.png",
        "a.png",
        "http:///a.png",
        "http://user:secret@example.com/a.png",
        "",
        "http://[::1/",
    ],
)
def test_non_http_schemes_and_malformed_urls_are_refused(
    tmp_path: Path, network: Recording, url: str
) -> None:
    dns = Answers(["93.184.216.34"])
    with pytest.raises(RefusedTarget):
        fetcher(tmp_path, network, resolver=dns).fetch(url, any_size)
    assert dns.lookups == [] and network.connected == []


def test_dns_answering_public_and_private_together_is_refused(
    tmp_path: Path, network: Recording
) -> None:
    dns = Answers(["127.0.0.1", "10.0.0.7"])
    with pytest.raises(RefusedTarget):
        fetcher(tmp_path, network, allow=LOOPBACK, resolver=dns).fetch(
            "http://mixed.example/a.png", any_size
        )
    assert network.connected == []


def test_dns_answering_public_then_private_connects_only_to_the_checked_address(
    tmp_path: Path, network: Recording
) -> None:
    port = free_port("127.0.0.1", "127.0.0.2")
    rebinding = Trap("127.0.0.2", port)
    try:
        with serving({"/a.png": file(DATA)}, port=port) as origin:
            # First answer "public" (allow-listed), every later one private: the check and
            # the connection use the one lookup, so the private answer is never used.
            dns = Answers(["127.0.0.1"], ["127.0.0.2"])
            spooled = fetcher(tmp_path, network, allow=LOOPBACK, resolver=dns).fetch(
                f"http://rebind.example:{port}/a.png", any_size
            )
            assert spooled.path.read_bytes() == DATA
            assert network.connected == ["127.0.0.1"] and dns.lookups == ["rebind.example"]
            assert origin.seen.hosts == [f"rebind.example:{port}"]  # the name, not the IP
            # A second hop resolves again, gets the private answer, and is refused.
            origin.routes["/hop"] = redirect(f"http://rebind.example:{port}/a.png")
            with pytest.raises(RefusedTarget):
                fetcher(
                    tmp_path,
                    network,
                    allow=LOOPBACK,
                    resolver=Answers(["127.0.0.1"], ["127.0.0.2"]),
                ).fetch(f"http://rebind.example:{port}/hop", any_size)
        assert rebinding.connections == 0
    finally:
        rebinding.close()


# -- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{trap}/a.png",
        "http://10.0.0.1/a.png",
        "http://[::1]:{trap}/",
        "http://2130706434:{trap}/",
        "file:///etc/passwd",
        "ftp://example.com/a.png",
    ],
)
def test_a_redirect_to_a_refused_target_is_refused(
    tmp_path: Path, network: Recording, target: str
) -> None:
    trap = Trap("127.0.0.2")
    try:
        location = target.format(trap=trap.port)
        with serving({"/go": redirect(location, 307)}) as origin, pytest.raises(RefusedTarget):
            fetcher(tmp_path, network, allow=LOOPBACK).fetch(origin.url("/go"), any_size)
        assert network.connected == ["127.0.0.1"]  # the origin only
        assert trap.connections == 0
    finally:
        trap.close()


def test_five_redirects_are_followed_and_a_sixth_is_refused(
    tmp_path: Path, network: Recording
) -> None:
    routes = {f"/r{n}": redirect(f"/r{n + 1}", 301 if n % 2 else 308) for n in range(6)}
    routes["/r5"] = file(DATA, "image/png")
    routes["/r6"] = file(DATA, "image/png")
    with serving(routes) as origin:
        spooled = fetcher(tmp_path, network, allow=LOOPBACK).fetch(origin.url("/r0"), any_size)
        assert spooled.path.read_bytes() == DATA and spooled.filename == "r5.png"
        routes["/r5"] = redirect("/r6")
        with pytest.raises(UpstreamError, match="redirects"):
            fetcher(tmp_path, network, allow=LOOPBACK).fetch(origin.url("/r0"), any_size)
        assert "/r6" not in origin.seen.paths


# -- deadline and byte cap ----------------------------------------------------------------------


def test_a_slow_drip_hits_the_total_deadline(tmp_path: Path, network: Recording) -> None:
    with serving({"/drip.png": drip(200, 0.02)}) as origin:
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            fetcher(tmp_path, network, allow=LOOPBACK, timeout=0.6).fetch(
                origin.url("/drip.png"), any_size
            )
        assert time.monotonic() - started < 3  # 200 bytes would take 4 s
    assert list((tmp_path / "spool").glob("*")) == []


def test_a_stalled_server_hits_the_total_deadline(tmp_path: Path, network: Recording) -> None:
    with serving({"/stall.png": drip(2, 30)}) as origin:
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            fetcher(tmp_path, network, allow=LOOPBACK, timeout=0.5).fetch(
                origin.url("/stall.png"), any_size
            )
        assert time.monotonic() - started < 3


def test_the_byte_cap_holds_without_a_content_length(tmp_path: Path, network: Recording) -> None:
    with (
        serving({"/big.png": unbounded(b"z" * 65536, 64)}) as origin,
        pytest.raises(PayloadTooLarge),
    ):  # 4 MiB offered
        fetcher(tmp_path, network, allow=LOOPBACK).fetch(origin.url("/big.png"), lambda _: MB)
    assert list((tmp_path / "spool").glob("*")) == []


def test_a_content_length_over_the_cap_is_refused_before_reading(
    tmp_path: Path, network: Recording
) -> None:
    with (
        serving({"/big.png": unbounded(b"z", 1, declared=50 * MB)}) as origin,
        pytest.raises(PayloadTooLarge),
    ):
        fetcher(tmp_path, network, allow=LOOPBACK).fetch(origin.url("/big.png"), lambda _: MB)


def test_a_content_length_lying_low_reads_no_more_than_it_declared(
    tmp_path: Path, network: Recording
) -> None:
    with serving({"/lie.png": unbounded(b"z" * 65536, 64, declared=100)}) as origin:
        spooled = fetcher(tmp_path, network, allow=LOOPBACK).fetch(
            origin.url("/lie.png"), lambda _: MB
        )
    assert spooled.size == 100


def test_a_content_length_lying_high_is_an_upstream_error(
    tmp_path: Path, network: Recording
) -> None:
    with (
        serving({"/short.png": unbounded(b"z" * 10, 1, declared=1000)}) as origin,
        pytest.raises(UpstreamError),
    ):
        fetcher(tmp_path, network, allow=LOOPBACK).fetch(origin.url("/short.png"), any_size)
    assert list((tmp_path / "spool").glob("*")) == []


def test_an_error_status_is_an_upstream_error(tmp_path: Path, network: Recording) -> None:
    with serving({"/gone.png": status(410)}) as origin, pytest.raises(UpstreamError, match="410"):
        fetcher(tmp_path, network, allow=LOOPBACK).fetch(origin.url("/gone.png"), any_size)


def test_a_closed_port_is_an_upstream_error(tmp_path: Path, network: Recording) -> None:
    port = free_port("127.0.0.1")
    with pytest.raises(UpstreamError):
        fetcher(tmp_path, network, allow=LOOPBACK).fetch(f"http://127.0.0.1:{port}/a.png", any_size)


# -- file names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "content_type", "expected"),
    [
        ("/dir/photo.png", {}, "image/png", "photo.png"),
        ("/dir/x%20y.webp?sig=1", {}, "image/webp", "x y.webp"),
        ("/render", {}, "image/jpeg", "render.jpg"),
        ("/", {}, "image/png", "download.png"),
        (
            "/a.png",
            {"Content-Disposition": 'attachment; filename="../../etc/cat.gif"'},
            "image/gif",
            "cat.gif",
        ),
        (
            "/a",
            {"Content-Disposition": "attachment; filename*=UTF-8''f%C3%BCchse.png"},
            "image/png",
            "füchse.png",
        ),
        ("/..%2F..%2Fpasswd", {}, "text/plain", "passwd.txt"),
        (
            "/a.png",
            {"Content-Disposition": 'attachment; filename="' + "n" * 400 + '.png"'},
            "application/octet-stream",
            "n" * 183 + ".png",
        ),
        (
            "/a",
            {"Content-Disposition": "attachment; filename*=UTF-8''%E2%80%AEgnp.txt"},
            "text/plain",
            "gnp.txt",
        ),
    ],
)
def test_the_file_name_comes_from_the_response_and_is_a_plain_base_name(
    tmp_path: Path,
    network: Recording,
    path: str,
    headers: dict[str, str],
    content_type: str,
    expected: str,
) -> None:
    seen: list[str] = []

    def limit(name: str) -> int:
        seen.append(name)
        return MB

    with serving({path.split("?")[0]: file(DATA, content_type, headers)}) as origin:
        spooled = fetcher(tmp_path, network, allow=LOOPBACK).fetch(origin.url(path), limit)
    assert spooled.filename == expected and seen == [expected]


def test_a_refused_file_type_is_not_downloaded(tmp_path: Path, network: Recording) -> None:
    def refuse(name: str) -> int:
        raise PayloadTooLarge(f"no {name}")

    with (
        serving({"/big.exe": unbounded(b"z" * 65536, 64)}) as origin,
        pytest.raises(PayloadTooLarge, match=r"no big\.exe"),
    ):
        fetcher(tmp_path, network, allow=LOOPBACK).fetch(origin.url("/big.exe"), refuse)
    assert list((tmp_path / "spool").glob("*")) == []


# -- TLS: the pinned address still verifies the name ------------------------------------------


def certificate(name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def test_https_sends_sni_and_verifies_the_name_while_connecting_to_the_checked_address(
    tmp_path: Path, network: Recording
) -> None:
    cert, key = certificate("cdn.example")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client = ssl.create_default_context(cadata=cert.decode())
    with serving({"/a.png": file(DATA, "image/png")}, tls=server) as origin:
        dns = Answers(["127.0.0.1"])
        spooled = fetcher(
            tmp_path, network, allow=LOOPBACK, resolver=dns, ssl_context=client
        ).fetch(f"https://cdn.example:{origin.port}/a.png", any_size)
        assert spooled.path.read_bytes() == DATA
        assert network.connected == ["127.0.0.1"]
        assert origin.seen.sni == ["cdn.example"]
        assert origin.seen.hosts == [f"cdn.example:{origin.port}"]
        # A certificate for another name fails verification: pinning skips no TLS check.
        with pytest.raises(UpstreamError):
            fetcher(
                tmp_path,
                network,
                allow=LOOPBACK,
                resolver=Answers(["127.0.0.1"]),
                ssl_context=client,
            ).fetch(f"https://other.example:{origin.port}/a.png", any_size)
