"""A minimal SIP UAC over UDP for tests that need exact control of timing (drain, lifecycle):
SIPp covers call flows; this covers "send this request now and tell me the answer"."""
from __future__ import annotations

import socket
import uuid
from typing import Optional

SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


class UdpCall:
    def __init__(self, port: int, sim_id: Optional[str] = None, host: str = "127.0.0.1"):
        self.port, self.host = port, host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(5)
        self.local = self.sock.getsockname()[1]
        self.call_id = f"lc-{uuid.uuid4().hex[:12]}@test"
        self.sim_id = sim_id
        self.to_tag = ""
        self.cseq = 0
        self.sent: dict[str, bytes] = {}   # the last request of each method, as sent (for retransmissions)

    def _request(self, method: str, body: str = "", extra: str = "") -> bytes:
        self.cseq += 1 if method != "ACK" else 0
        to = f"<sip:agent@{self.host}:{self.port}>" + (f";tag={self.to_tag}" if self.to_tag else "")
        ctype = "Content-Type: application/sdp\r\n" if body else ""
        return (f"{method} sip:agent@{self.host}:{self.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {self.host}:{self.local};branch=z9hG4bK-{uuid.uuid4().hex[:10]};rport\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:caller@{self.host}>;tag=ft-{self.call_id[:8]}\r\nTo: {to}\r\n"
                f"Call-ID: {self.call_id}\r\nCSeq: {max(self.cseq, 1)} {method}\r\n"
                f"Contact: <sip:caller@{self.host}:{self.local}>\r\n{extra}{ctype}"
                f"Content-Length: {len(body.encode())}\r\n\r\n{body}").encode()

    def _send(self, method: str, data: bytes) -> None:
        self.sent[method] = data
        self.sock.sendto(data, (self.host, self.port))

    def _final(self, method: Optional[str] = None) -> tuple[int, bytes]:
        """The next final response (to ``method``, when given: a late 2xx retransmission of an earlier
        request is skipped), bounded by the socket timeout."""
        while True:
            data, _ = self.sock.recvfrom(65535)
            if not data.startswith(b"SIP/2.0 "):
                continue  # a request from the sidecar: not an answer
            code = int(data.split(b" ", 2)[1])
            if method is not None and f" {method}".encode() not in _header(data, b"cseq"):
                continue
            if code >= 200:
                return code, data

    def _answered(self, code: int, data: bytes) -> int:
        tag = _header(data, b"to").split(b";tag=")
        if len(tag) > 1:
            self.to_tag = tag[1].split(b";")[0].decode()
        if code == 200:
            self.sock.sendto(self._request("ACK"), (self.host, self.port))
        return code

    def invite(self) -> int:
        extra = f"X-Simulation-Result-Id: {self.sim_id}\r\n" if self.sim_id else ""
        self._send("INVITE", self._request("INVITE", SDP, extra))
        return self._answered(*self._final("INVITE"))

    def bye(self, extra: str = "") -> int:
        self._send("BYE", self._request("BYE", extra=extra))
        return self._final("BYE")[0]

    def retransmit(self, method: str) -> tuple[int, str]:
        """Sends the last ``method`` request again, byte for byte (same branch and CSeq), as a UAC's timer
        would; returns the final status and the To tag it carries. A 200 to an INVITE is ACKed."""
        data = self.sent[method]
        self.sock.sendto(data, (self.host, self.port))
        code, response = self._final(method)
        tag = _header(response, b"to").split(b";tag=")
        to_tag = tag[1].split(b";")[0].decode() if len(tag) > 1 else ""
        if method == "INVITE" and code == 200:
            self.sock.sendto(self._request("ACK"), (self.host, self.port))
        return code, to_tag

    def receive_request(self, method: str, timeout: float = 5.0) -> bytes:
        """The next request ``method`` the sidecar sends us (responses and other requests are skipped)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            while True:
                data, _ = self.sock.recvfrom(65535)
                if data.startswith(method.encode() + b" "):
                    return data
        finally:
            self.sock.settimeout(old)

    def answer(self, request: bytes, status: int = 200, reason: str = "OK") -> None:
        """Answers a request the sidecar sent, to the address in its Via (the sidecar's listener)."""
        head = request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
        keep = [l for l in head if l.split(b":", 1)[0].strip().lower() in (b"via", b"from", b"to", b"call-id", b"cseq")]
        response = b"\r\n".join([f"SIP/2.0 {status} {reason}".encode(), *keep, b"Content-Length: 0"]) + b"\r\n\r\n"
        self.sock.sendto(response, (self.host, self.port))

    def in_dialog(self, method: str, body: str = "", content_type: str = "application/sdp", extra: str = "") -> int:
        """An in-dialog request with a body; for re-INVITE the 200 is ACKed."""
        request = self._request(method, body, extra)
        if body and content_type != "application/sdp":
            request = request.replace(b"Content-Type: application/sdp", f"Content-Type: {content_type}".encode())
        self.sock.sendto(request, (self.host, self.port))
        code = self._final()[0]
        if method == "INVITE" and code == 200:
            self.sock.sendto(self._request("ACK"), (self.host, self.port))
        return code

    def close(self) -> None:
        self.sock.close()


def _header(message: bytes, name: bytes) -> bytes:
    """The first value of header ``name`` (lower case) in a SIP message, b"" when absent."""
    for line in message.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return b""
