using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Turn.Signal;

/// <summary>What the start of a connection is to the signaling upgrade fast path.</summary>
internal enum UpgradeVerdict
{
    /// <summary>So far a request for the signaling path; its head is not complete yet.</summary>
    NeedMore,

    /// <summary>Anything else: another request, another protocol, or an upgrade this parser leaves to HTTP.</summary>
    NotOurs,

    /// <summary>A complete, plain WebSocket upgrade request for the signaling path (RFC 6455 §4.2.1).</summary>
    Upgrade,
}

/// <summary>
/// The head of a WebSocket upgrade request (RFC 6455 §4.2.1) for the signaling path, parsed from
/// the first bytes of a connection; no I/O. Only the plain form is taken: an HTTP/1.1 GET with the
/// path itself (a query allowed), Host, Upgrade: websocket, Connection: upgrade, version 13, a
/// 16-byte key, no body, no header this path cares about twice and no folded line. Anything else,
/// valid or not, is <see cref="UpgradeVerdict.NotOurs"/> and goes to the HTTP server, which answers
/// it as before; so this parser never needs to be as complete as HTTP, only right about what it takes.
/// </summary>
internal sealed class UpgradeRequest
{
    /// <summary>The longest head taken; a longer one is left to HTTP and its limits.</summary>
    public const int MaxHeadLength = 8192;

    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();
    private static readonly SearchValues<byte> TokenBytes = SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);
    private static readonly SearchValues<byte> FieldValueBytes = SearchValues.Create([(byte)'\t', .. Enumerable.Range(0x20, 0x7F - 0x20).Select(b => (byte)b)]);

    private UpgradeRequest(int headLength, string host, string key, string? origin, string? forwardedFor, bool otherForwarding)
    {
        HeadLength = headLength;
        Host = host;
        Key = key;
        Origin = origin;
        ForwardedFor = forwardedFor;
        OtherForwarding = otherForwarding;
    }

    /// <summary>Bytes of the request line and headers, the blank line included.</summary>
    public int HeadLength { get; }

    /// <summary>The Host header as sent (host and port).</summary>
    public string Host { get; }

    public string Key { get; }

    public string? Origin { get; }

    /// <summary>The X-Forwarded-For header, if any.</summary>
    public string? ForwardedFor { get; }

    /// <summary>Whether Forwarded or X-Real-IP is present (never taken as the client's address).</summary>
    public bool OtherForwarding { get; }

    /// <summary>The Sec-WebSocket-Accept value for <see cref="Key"/> (RFC 6455 §4.2.2).</summary>
    public string Accept()
    {
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        // RFC 6455 names SHA-1; it proves the server read the handshake, it guards nothing.
#pragma warning disable CA5350
        SHA1.HashData(Encoding.ASCII.GetBytes(Key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"), hash);
#pragma warning restore CA5350
        return Convert.ToBase64String(hash);
    }

    /// <summary>Parses the start of a connection's bytes as an upgrade request for <paramref name="path"/>.</summary>
    public static UpgradeVerdict Parse(ReadOnlySequence<byte> start, string path, out UpgradeRequest? request)
    {
        request = null;
        if (start.IsSingleSegment)
        {
            return Parse(start.FirstSpan, path, out request);
        }

        int length = (int)Math.Min(start.Length, MaxHeadLength + 1);
        byte[] copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            start.Slice(0, length).CopyTo(copy);
            return Parse(copy.AsSpan(0, length), path, out request);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    public static UpgradeVerdict Parse(ReadOnlySpan<byte> start, string path, out UpgradeRequest? request)
    {
        request = null;
        UpgradeVerdict verdict = Head(start, path, out ReadOnlySpan<byte> head, out int headersAt);
        if (verdict != UpgradeVerdict.Upgrade)
        {
            return verdict;
        }

        string? host = null, upgrade = null, connection = null, key = null, version = null, origin = null, forwardedFor = null;
        bool otherForwarding = false;
        ReadOnlySpan<byte> rest = head[headersAt..];
        while (rest.Length > 0)
        {
            int next = rest.IndexOf("\r\n"u8);
            ReadOnlySpan<byte> line = rest[..next];
            rest = rest[(next + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]) || !IsFieldValue(line[(colon + 1)..]))
            {
                // No name, a name with spaces, a folded line, or bytes no header value has.
                return UpgradeVerdict.NotOurs;
            }

            ReadOnlySpan<byte> name = line[..colon];
            string value = Encoding.ASCII.GetString(line[(colon + 1)..].Trim(" \t"u8));
            bool once = true;
            if (Is(name, "host"))
            {
                once = Set(ref host, value);
            }
            else if (Is(name, "upgrade"))
            {
                once = Set(ref upgrade, value);
            }
            else if (Is(name, "connection"))
            {
                once = Set(ref connection, value);
            }
            else if (Is(name, "sec-websocket-key"))
            {
                once = Set(ref key, value);
            }
            else if (Is(name, "sec-websocket-version"))
            {
                once = Set(ref version, value);
            }
            else if (Is(name, "origin"))
            {
                once = Set(ref origin, value);
            }
            else if (Is(name, "x-forwarded-for"))
            {
                once = Set(ref forwardedFor, value);
            }
            else if (Is(name, "forwarded") || Is(name, "x-real-ip"))
            {
                otherForwarding = true;
            }
            else if (Is(name, "content-length") || Is(name, "transfer-encoding"))
            {
                // An upgrade request has no body.
                return UpgradeVerdict.NotOurs;
            }

            if (!once)
            {
                return UpgradeVerdict.NotOurs;
            }
        }

        if (string.IsNullOrEmpty(host)
            || !string.Equals(upgrade, "websocket", StringComparison.OrdinalIgnoreCase)
            || connection is null || !HasToken(connection, "upgrade")
            || version != "13"
            || !IsKey(key))
        {
            return UpgradeVerdict.NotOurs;
        }

        request = new UpgradeRequest(head.Length + 2, host, key!, origin, forwardedFor, otherForwarding); // the head and its blank line
        return UpgradeVerdict.Upgrade;
    }

    /// <summary>
    /// "GET", the path and "HTTP/1.1", and a whole head within <see cref="MaxHeadLength"/>:
    /// <see cref="UpgradeVerdict.Upgrade"/> with the head and where its header lines start, or why not (yet).
    /// </summary>
    private static UpgradeVerdict Head(ReadOnlySpan<byte> start, string path, out ReadOnlySpan<byte> head, out int headersAt)
    {
        head = default;
        headersAt = 0;

        // "GET " and the path, then a space or a query: decided on as few bytes as have come.
        int prefixLength = 4 + path.Length;
        int known = Math.Min(start.Length, prefixLength);
        for (int i = 0; i < known; i++)
        {
            byte expected = i < 4 ? "GET "u8[i] : (byte)path[i - 4];
            if (start[i] != expected)
            {
                return UpgradeVerdict.NotOurs;
            }
        }

        if (start.Length > prefixLength && start[prefixLength] is not ((byte)' ' or (byte)'?'))
        {
            return UpgradeVerdict.NotOurs;
        }

        int end = start[..Math.Min(start.Length, MaxHeadLength)].IndexOf(HeadEnd);
        if (end < 0)
        {
            return start.Length >= MaxHeadLength ? UpgradeVerdict.NotOurs : UpgradeVerdict.NeedMore;
        }

        head = start[..(end + 2)];
        int lineEnd = head.IndexOf("\r\n"u8);
        ReadOnlySpan<byte> requestLine = head[..lineEnd];
        int targetEnd = requestLine.LastIndexOf((byte)' ');
        if (targetEnd < prefixLength || !requestLine[(targetEnd + 1)..].SequenceEqual("HTTP/1.1"u8) || requestLine[4..targetEnd].IndexOfAny((byte)' ', (byte)'#') >= 0)
        {
            return UpgradeVerdict.NotOurs;
        }

        headersAt = lineEnd + 2;
        return UpgradeVerdict.Upgrade;
    }

    private static bool Set(ref string? field, string value)
    {
        if (field is not null)
        {
            return false;
        }

        field = value;
        return true;
    }

    private static bool Is(ReadOnlySpan<byte> name, string lower) => Ascii.EqualsIgnoreCase(name, lower);

    private static bool HasToken(string list, string token)
    {
        foreach (Range part in list.AsSpan().Split(','))
        {
            if (list.AsSpan()[part].Trim().Equals(token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Base64 of 16 bytes: 24 characters, the last two "==".</summary>
    private static bool IsKey(string? key)
    {
        Span<byte> decoded = stackalloc byte[18];
        return key is { Length: 24 } && Convert.TryFromBase64String(key, decoded, out int written) && written == 16;
    }

    /// <summary>RFC 9110 §5.6.2: a header name is a token.</summary>
    private static bool IsToken(ReadOnlySpan<byte> name) => name.IndexOfAnyExcept(TokenBytes) < 0;

    /// <summary>Visible ASCII, spaces and tabs; anything else (controls, non-ASCII) is left to HTTP.</summary>
    private static bool IsFieldValue(ReadOnlySpan<byte> value) => value.IndexOfAnyExcept(FieldValueBytes) < 0;
}
