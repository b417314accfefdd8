"""The error-code tables and where each family of codes is documented.

The same number means different things per platform and per exception type, so each table is
one platform's (or one library's) own numbering and texts. They are embedded (domain.md 2.1,
2.4-2.6) so a Linux build can explain a Windows capture. Data only.
"""

from __future__ import annotations

DEFAULT_ERRNO_URL = "https://docs.python.org/3/library/errno.html#errno.{name}"
SOCKET_DOCS = "https://docs.python.org/3/library/socket.html#socket.{name}"
WINSOCK_ERRORS = (
    "https://learn.microsoft.com/en-us/windows/win32/winsock/windows-sockets-error-codes-2#{name}"
)
WINDOWS_SYSTEM_ERRORS = (
    "https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--{page}-#{name}"
)
OPENSSL_DOCS = "https://docs.openssl.org/3.0/man3/{name}/"
MAN7 = "https://man7.org/linux/man-pages/man{section}/{name}.{section}.html"
FREEBSD_MAN = "https://man.freebsd.org/cgi/man.cgi?query={name}&sektion={section}"
WINSOCK_API = "https://learn.microsoft.com/en-us/windows/win32/api/{header}/nf-{header}-{name}"


def _table(text: str) -> dict[int, tuple[str, str]]:
    """Parse ``number NAME description`` lines: tables stay readable next to domain.md."""
    out: dict[int, tuple[str, str]] = {}
    for line in text.strip().splitlines():
        number, name, description = line.split(None, 2)
        out[int(number)] = (name, description)
    return out


# Linux asm-generic numbers (x86, ARM, RISC-V) with glibc strerror texts, as this machine's
# errno/os.strerror report them. Other architectures (MIPS, PA-RISC) number differently; the
# child's own errno_name wins when present.
LINUX = _table(
    """
    1 EPERM Operation not permitted
    2 ENOENT No such file or directory
    3 ESRCH No such process
    4 EINTR Interrupted system call
    5 EIO Input/output error
    6 ENXIO No such device or address
    7 E2BIG Argument list too long
    8 ENOEXEC Exec format error
    9 EBADF Bad file descriptor
    10 ECHILD No child processes
    11 EAGAIN Resource temporarily unavailable
    12 ENOMEM Cannot allocate memory
    13 EACCES Permission denied
    14 EFAULT Bad address
    16 EBUSY Device or resource busy
    17 EEXIST File exists
    18 EXDEV Invalid cross-device link
    19 ENODEV No such device
    20 ENOTDIR Not a directory
    21 EISDIR Is a directory
    22 EINVAL Invalid argument
    23 ENFILE Too many open files in system
    24 EMFILE Too many open files
    25 ENOTTY Inappropriate ioctl for device
    26 ETXTBSY Text file busy
    27 EFBIG File too large
    28 ENOSPC No space left on device
    29 ESPIPE Illegal seek
    30 EROFS Read-only file system
    31 EMLINK Too many links
    32 EPIPE Broken pipe
    33 EDOM Numerical argument out of domain
    34 ERANGE Numerical result out of range
    35 EDEADLK Resource deadlock avoided
    36 ENAMETOOLONG File name too long
    37 ENOLCK No locks available
    38 ENOSYS Function not implemented
    39 ENOTEMPTY Directory not empty
    40 ELOOP Too many levels of symbolic links
    61 ENODATA No data available
    62 ETIME Timer expired
    71 EPROTO Protocol error
    74 EBADMSG Bad message
    75 EOVERFLOW Value too large for defined data type
    84 EILSEQ Invalid or incomplete multibyte or wide character
    88 ENOTSOCK Socket operation on non-socket
    89 EDESTADDRREQ Destination address required
    90 EMSGSIZE Message too long
    91 EPROTOTYPE Protocol wrong type for socket
    92 ENOPROTOOPT Protocol not available
    93 EPROTONOSUPPORT Protocol not supported
    94 ESOCKTNOSUPPORT Socket type not supported
    95 EOPNOTSUPP Operation not supported
    96 EPFNOSUPPORT Protocol family not supported
    97 EAFNOSUPPORT Address family not supported by protocol
    98 EADDRINUSE Address already in use
    99 EADDRNOTAVAIL Cannot assign requested address
    100 ENETDOWN Network is down
    101 ENETUNREACH Network is unreachable
    102 ENETRESET Network dropped connection on reset
    103 ECONNABORTED Software caused connection abort
    104 ECONNRESET Connection reset by peer
    105 ENOBUFS No buffer space available
    106 EISCONN Transport endpoint is already connected
    107 ENOTCONN Transport endpoint is not connected
    108 ESHUTDOWN Cannot send after transport endpoint shutdown
    109 ETOOMANYREFS Too many references: cannot splice
    110 ETIMEDOUT Connection timed out
    111 ECONNREFUSED Connection refused
    112 EHOSTDOWN Host is down
    113 EHOSTUNREACH No route to host
    114 EALREADY Operation already in progress
    115 EINPROGRESS Operation now in progress
    116 ESTALE Stale file handle
    122 EDQUOT Disk quota exceeded
    125 ECANCELED Operation canceled
    """
)

# macOS / BSD <sys/errno.h> and libc strerror texts. 1-34 match Linux except 11; the socket
# range starts at 35 (domain.md 2.1 checks the network rows: 61, 54, 60, 65, 51, 48, 49, 53).
BSD = _table(
    """
    1 EPERM Operation not permitted
    2 ENOENT No such file or directory
    3 ESRCH No such process
    4 EINTR Interrupted system call
    5 EIO Input/output error
    6 ENXIO Device not configured
    7 E2BIG Argument list too long
    8 ENOEXEC Exec format error
    9 EBADF Bad file descriptor
    10 ECHILD No child processes
    11 EDEADLK Resource deadlock avoided
    12 ENOMEM Cannot allocate memory
    13 EACCES Permission denied
    14 EFAULT Bad address
    16 EBUSY Resource busy
    17 EEXIST File exists
    18 EXDEV Cross-device link
    19 ENODEV Operation not supported by device
    20 ENOTDIR Not a directory
    21 EISDIR Is a directory
    22 EINVAL Invalid argument
    23 ENFILE Too many open files in system
    24 EMFILE Too many open files
    25 ENOTTY Inappropriate ioctl for device
    26 ETXTBSY Text file busy
    27 EFBIG File too large
    28 ENOSPC No space left on device
    29 ESPIPE Illegal seek
    30 EROFS Read-only file system
    31 EMLINK Too many links
    32 EPIPE Broken pipe
    33 EDOM Numerical argument out of domain
    34 ERANGE Result too large
    35 EAGAIN Resource temporarily unavailable
    36 EINPROGRESS Operation now in progress
    37 EALREADY Operation already in progress
    38 ENOTSOCK Socket operation on non-socket
    39 EDESTADDRREQ Destination address required
    40 EMSGSIZE Message too long
    41 EPROTOTYPE Protocol wrong type for socket
    42 ENOPROTOOPT Protocol not available
    43 EPROTONOSUPPORT Protocol not supported
    44 ESOCKTNOSUPPORT Socket type not supported
    45 ENOTSUP Operation not supported
    46 EPFNOSUPPORT Protocol family not supported
    47 EAFNOSUPPORT Address family not supported by protocol family
    48 EADDRINUSE Address already in use
    49 EADDRNOTAVAIL Can't assign requested address
    50 ENETDOWN Network is down
    51 ENETUNREACH Network is unreachable
    52 ENETRESET Network dropped connection on reset
    53 ECONNABORTED Software caused connection abort
    54 ECONNRESET Connection reset by peer
    55 ENOBUFS No buffer space available
    56 EISCONN Socket is already connected
    57 ENOTCONN Socket is not connected
    58 ESHUTDOWN Can't send after socket shutdown
    59 ETOOMANYREFS Too many references: can't splice
    60 ETIMEDOUT Operation timed out
    61 ECONNREFUSED Connection refused
    62 ELOOP Too many levels of symbolic links
    63 ENAMETOOLONG File name too long
    64 EHOSTDOWN Host is down
    65 EHOSTUNREACH No route to host
    66 ENOTEMPTY Directory not empty
    69 EDQUOT Disc quota exceeded
    70 ESTALE Stale NFS file handle
    78 ENOSYS Function not implemented
    """
)

# Windows: the C runtime's errno values, then WinSock codes. CPython's errno module defines the
# socket constants *as* the WSA values (errno.ECONNREFUSED == 10061), so a socket OSError has
# errno == winerror == 10061; its errno name is the POSIX one without the WSA prefix.
WINDOWS_CRT = _table(
    """
    1 EPERM Operation not permitted
    2 ENOENT No such file or directory
    3 ESRCH No such process
    4 EINTR Interrupted function call
    5 EIO Input/output error
    9 EBADF Bad file descriptor
    11 EAGAIN Resource temporarily unavailable
    12 ENOMEM Not enough space
    13 EACCES Permission denied
    17 EEXIST File exists
    20 ENOTDIR Not a directory
    21 EISDIR Is a directory
    22 EINVAL Invalid argument
    24 EMFILE Too many open files
    28 ENOSPC No space left on device
    32 EPIPE Broken pipe
    36 EDEADLK Resource deadlock avoided
    38 ENAMETOOLONG Filename too long
    41 ENOTEMPTY Directory not empty
    """
)

# WinSock error codes with their FormatMessage texts (trailing period dropped, as CPython does).
WINSOCK = _table(
    """
    10004 WSAEINTR A blocking operation was interrupted by a call to WSACancelBlockingCall
    10009 WSAEBADF The file handle supplied is not valid
    10013 WSAEACCES An attempt was made to access a socket in a way forbidden by its access permissions
    10014 WSAEFAULT The system detected an invalid pointer address in attempting to use a pointer argument in a call
    10022 WSAEINVAL An invalid argument was supplied
    10024 WSAEMFILE Too many open sockets
    10035 WSAEWOULDBLOCK A non-blocking socket operation could not be completed immediately
    10036 WSAEINPROGRESS A blocking operation is currently executing
    10037 WSAEALREADY An operation was attempted on a non-blocking socket that already had an operation in progress
    10038 WSAENOTSOCK An operation was attempted on something that is not a socket
    10039 WSAEDESTADDRREQ A required address was omitted from an operation on a socket
    10040 WSAEMSGSIZE A message sent on a datagram socket was larger than the internal message buffer or some other network limit
    10041 WSAEPROTOTYPE A protocol was specified in the socket function call that does not support the semantics of the socket type requested
    10042 WSAENOPROTOOPT An unknown, invalid, or unsupported option or level was specified in a getsockopt or setsockopt call
    10043 WSAEPROTONOSUPPORT The requested protocol has not been configured into the system, or no implementation for it exists
    10044 WSAESOCKTNOSUPPORT The support for the specified socket type does not exist in this address family
    10045 WSAEOPNOTSUPP The attempted operation is not supported for the type of object referenced
    10046 WSAEPFNOSUPPORT The protocol family has not been configured into the system or no implementation for it exists
    10047 WSAEAFNOSUPPORT An address incompatible with the requested protocol was used
    10048 WSAEADDRINUSE Only one usage of each socket address (protocol/network address/port) is normally permitted
    10049 WSAEADDRNOTAVAIL The requested address is not valid in its context
    10050 WSAENETDOWN A socket operation encountered a dead network
    10051 WSAENETUNREACH A socket operation was attempted to an unreachable network
    10052 WSAENETRESET The connection has been broken due to keep-alive activity detecting a failure while the operation was in progress
    10053 WSAECONNABORTED An established connection was aborted by the software in your host machine
    10054 WSAECONNRESET An existing connection was forcibly closed by the remote host
    10055 WSAENOBUFS An operation on a socket could not be performed because the system lacked sufficient buffer space or because a queue was full
    10056 WSAEISCONN A connect request was made on an already connected socket
    10057 WSAENOTCONN A request to send or receive data was disallowed because the socket is not connected
    10058 WSAESHUTDOWN A request to send or receive data was disallowed because the socket had already been shut down in that direction with a previous shutdown call
    10060 WSAETIMEDOUT A connection attempt failed because the connected party did not properly respond after a period of time, or established connection failed because connected host has failed to respond
    10061 WSAECONNREFUSED No connection could be made because the target machine actively refused it
    10064 WSAEHOSTDOWN A socket operation failed because the destination host was down
    10065 WSAEHOSTUNREACH A socket operation was attempted to an unreachable host
    10109 WSATYPE_NOT_FOUND The specified class was not found
    11001 WSAHOST_NOT_FOUND No such host is known
    11002 WSATRY_AGAIN This is usually a temporary error during hostname resolution and means that the local server did not receive a response from an authoritative server
    11003 WSANO_RECOVERY A non-recoverable error occurred during a database lookup
    11004 WSANO_DATA The requested name is valid, but no data of the requested type was found
    """  # noqa: E501 (one code per line reads better than wrapped text)
)

# Windows system error codes seen from sockets, pipes and asyncio's proactor loop
# (``[WinError 1225]`` is a refused connection there). page = the docs page's range.
WINDOWS_SYSTEM = _table(
    """
    2 ERROR_FILE_NOT_FOUND The system cannot find the file specified
    3 ERROR_PATH_NOT_FOUND The system cannot find the path specified
    5 ERROR_ACCESS_DENIED Access is denied
    64 ERROR_NETNAME_DELETED The specified network name is no longer available
    109 ERROR_BROKEN_PIPE The pipe has been ended
    121 ERROR_SEM_TIMEOUT The semaphore timeout period has expired
    232 ERROR_NO_DATA The pipe is being closed
    1225 ERROR_CONNECTION_REFUSED The remote computer refused the network connection
    1236 ERROR_CONNECTION_ABORTED The network connection was aborted by the local system
    """
)
WINDOWS_SYSTEM_PAGES = ((499, "0-499"), (999, "500-999"), (1299, "1000-1299"))

# getaddrinfo/getnameinfo codes (domain.md 2.4); texts are each platform's gai_strerror.
EAI_LINUX = _table(
    """
    -1 EAI_BADFLAGS Bad value for ai_flags
    -2 EAI_NONAME Name or service not known
    -3 EAI_AGAIN Temporary failure in name resolution
    -4 EAI_FAIL Non-recoverable failure in name resolution
    -5 EAI_NODATA No address associated with hostname
    -6 EAI_FAMILY ai_family not supported
    -7 EAI_SOCKTYPE ai_socktype not supported
    -8 EAI_SERVICE Servname not supported for ai_socktype
    -9 EAI_ADDRFAMILY Address family for hostname not supported
    -10 EAI_MEMORY Memory allocation failure
    -11 EAI_SYSTEM System error
    -12 EAI_OVERFLOW Argument buffer overflow
    """
)
EAI_BSD = _table(
    """
    1 EAI_ADDRFAMILY Address family for hostname not supported
    2 EAI_AGAIN Temporary failure in name resolution
    3 EAI_BADFLAGS Invalid value for ai_flags
    4 EAI_FAIL Non-recoverable failure in name resolution
    5 EAI_FAMILY ai_family not supported
    6 EAI_MEMORY Memory allocation failure
    7 EAI_NODATA No address associated with hostname
    8 EAI_NONAME nodename nor servname provided, or not known
    9 EAI_SERVICE servname not supported for ai_socktype
    10 EAI_SOCKTYPE ai_socktype not supported
    11 EAI_SYSTEM System error returned in errno
    14 EAI_OVERFLOW Argument buffer overflow
    """
)
# Windows EAI_* are WSA codes (ws2tcpip.h); CPython prints only "getaddrinfo failed".
EAI_WINDOWS = _table(
    """
    8 EAI_MEMORY Insufficient memory available
    10022 EAI_BADFLAGS An invalid argument was supplied
    10044 EAI_SOCKTYPE The support for the specified socket type does not exist in this address family
    10047 EAI_FAMILY An address incompatible with the requested protocol was used
    10109 EAI_SERVICE The specified class was not found
    11001 EAI_NONAME No such host is known
    11002 EAI_AGAIN This is usually a temporary error during hostname resolution
    11003 EAI_FAIL A non-recoverable error occurred during a database lookup
    """  # noqa: E501 (one code per line reads better than wrapped text)
)
# h_errno (gethostbyname/gethostbyaddr), glibc hstrerror texts; never an errno (1 is not EPERM).
HERROR = _table(
    """
    1 HOST_NOT_FOUND Unknown host
    2 TRY_AGAIN Host name lookup failure
    3 NO_RECOVERY Unknown server error
    4 NO_DATA No address associated with name
    """
)
# ssl.SSLError.errno is an SSL_get_error() result (Python adds 8 EOF and 9).
SSL = _table(
    """
    1 SSL_ERROR_SSL A failure in the SSL library occurred, usually a protocol error
    2 SSL_ERROR_WANT_READ The operation did not complete: more data must be read first
    3 SSL_ERROR_WANT_WRITE The operation did not complete: data must be written first
    4 SSL_ERROR_WANT_X509_LOOKUP The operation did not complete: a certificate callback must run again
    5 SSL_ERROR_SYSCALL A non-recoverable I/O error occurred (see errno)
    6 SSL_ERROR_ZERO_RETURN The TLS connection has been closed cleanly by the peer
    7 SSL_ERROR_WANT_CONNECT The operation did not complete: the underlying connect must finish first
    8 SSL_ERROR_EOF The peer closed the connection without a TLS close_notify (EOF in violation of protocol)
    9 SSL_ERROR_INVALID_ERROR_CODE Python could not map the OpenSSL error
    """  # noqa: E501 (one code per line reads better than wrapped text)
)
# X509_V_ERR_* (ssl.SSLCertVerificationError.verify_code), X509_verify_cert_error_string texts.
X509_VERIFY = _table(
    """
    2 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT unable to get issuer certificate
    9 X509_V_ERR_CERT_NOT_YET_VALID certificate is not yet valid
    10 X509_V_ERR_CERT_HAS_EXPIRED certificate has expired
    18 X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT self-signed certificate
    19 X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN self-signed certificate in certificate chain
    20 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY unable to get local issuer certificate
    21 X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE unable to verify the first certificate
    23 X509_V_ERR_CERT_REVOKED certificate revoked
    26 X509_V_ERR_INVALID_PURPOSE unsuitable certificate purpose
    62 X509_V_ERR_HOSTNAME_MISMATCH hostname mismatch
    64 X509_V_ERR_IP_ADDRESS_MISMATCH IP address mismatch
    """
)
