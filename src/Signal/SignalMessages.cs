using System.Buffers;
using System.Text.Json;

namespace Turn.Signal;

/// <summary>
/// Writes the server's messages as UTF-8 JSON. Client payloads ("data", "meta") are copied as
/// raw JSON without being parsed into objects.
/// </summary>
internal static class SignalMessages
{
    public const int ProtocolVersion = 1;

    public static byte[] Joined(Peer peer, IReadOnlyList<IceServer> iceServers, bool resumed)
        => Write(w =>
        {
            w.WriteString("type", "joined");
            w.WriteNumber("v", ProtocolVersion);
            w.WriteString("room", peer.Room.Name);
            w.WriteString("id", peer.Id);
            w.WriteString("resumeToken", peer.ResumeToken);
            w.WriteBoolean("resumed", resumed);
            w.WriteStartArray("peers");
            lock (peer.Room.Sync)
            {
                foreach (Peer other in peer.Room.Peers.Values)
                {
                    if (other != peer)
                    {
                        WritePeer(w, other);
                    }
                }

                foreach (RemotePeer other in peer.Room.Remote.Values)
                {
                    WritePeer(w, other.Id, other.Name, other.Meta);
                }
            }

            w.WriteEndArray();
            WriteIceServers(w, iceServers);
        });

    private static void WriteIceServers(Utf8JsonWriter w, IReadOnlyList<IceServer> iceServers)
    {
        w.WriteStartArray("iceServers");
        foreach (IceServer server in iceServers)
        {
            w.WriteStartObject();
            w.WriteStartArray("urls");
            foreach (string url in server.Urls)
            {
                w.WriteStringValue(url);
            }

            w.WriteEndArray();
            if (server.Username is not null)
            {
                w.WriteString("username", server.Username);
                w.WriteString("credential", server.Credential);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    /// <summary>The answer to "ice-servers": fresh iceServers for the peer.</summary>
    public static byte[] IceServers(IReadOnlyList<IceServer> iceServers, string? id) => Write(w =>
    {
        w.WriteString("type", "ice-servers");
        if (id is not null)
        {
            w.WriteString("id", id);
        }

        WriteIceServers(w, iceServers);
    });

    public static byte[] PeerJoined(Peer peer) => PeerJoined(peer.Id, peer.Name, peer.Meta);

    public static byte[] PeerJoined(string id, string? name, byte[]? meta) => Write(w =>
    {
        w.WriteString("type", "peer-joined");
        w.WritePropertyName("peer");
        WritePeer(w, id, name, meta);
    });

    public static byte[] PeerLeft(Peer peer) => PeerLeft(peer.Id);

    public static byte[] PeerLeft(string id) => Write(w =>
    {
        w.WriteString("type", "peer-left");
        w.WriteString("id", id);
    });

    /// <summary>
    /// A message relayed from one peer (or "server") with the sender's raw data, written in one
    /// allocation: type and from are ASCII the server chose, and data was validated as JSON when
    /// it was read.
    /// </summary>
    public static byte[] Relayed(string type, string from, ReadOnlySpan<byte> rawData)
    {
        ReadOnlySpan<byte> p1 = "{\"type\":\""u8;
        ReadOnlySpan<byte> p2 = "\",\"from\":\""u8;
        ReadOnlySpan<byte> p3 = "\",\"data\":"u8;
        ReadOnlySpan<byte> p3Empty = "\""u8;
        bool hasData = !rawData.IsEmpty;
        int length = p1.Length + type.Length + p2.Length + from.Length + (hasData ? p3.Length + rawData.Length : p3Empty.Length) + 1;
        byte[] message = new byte[length];
        Span<byte> span = message;
        p1.CopyTo(span);
        span = span[p1.Length..];
        span = span[System.Text.Encoding.ASCII.GetBytes(type, span)..];
        p2.CopyTo(span);
        span = span[p2.Length..];
        span = span[System.Text.Encoding.ASCII.GetBytes(from, span)..];
        if (hasData)
        {
            p3.CopyTo(span);
            span = span[p3.Length..];
            rawData.CopyTo(span);
            span = span[rawData.Length..];
        }
        else
        {
            p3Empty.CopyTo(span);
            span = span[p3Empty.Length..];
        }

        span[0] = (byte)'}';
        return message;
    }

    public static byte[] Error(string code, string message, string? id = null) => Write(w =>
    {
        w.WriteString("type", "error");
        w.WriteString("code", code);
        w.WriteString("message", message);
        if (id is not null)
        {
            w.WriteString("id", id);
        }
    });

    public static byte[] Pong(string? id) => Write(w =>
    {
        w.WriteString("type", "pong");
        if (id is not null)
        {
            w.WriteString("id", id);
        }
    });

    /// <summary>GET /api/ice-servers: {"iceServers": [...]}.</summary>
    public static byte[] ApiIceServers(IReadOnlyList<IceServer> iceServers) => Write(w => WriteIceServers(w, iceServers));

    /// <summary>POST /api/rooms/{room}/messages: how many peers it reached.</summary>
    public static byte[] Delivered(int delivered) => Write(w => w.WriteNumber("delivered", delivered));

    /// <summary>The answer to opening a session of the HTTP fallback: its token and how long a poll waits.</summary>
    public static byte[] PollSession(string session, int pollSeconds) => Write(w =>
    {
        w.WriteString("session", session);
        w.WriteNumber("pollSeconds", pollSeconds);
    });

    /// <summary>A poll of a session that is over: the close code and reason, as a WebSocket's close would carry them.</summary>
    public static byte[] PollClosed(int code, string reason) => Write(w =>
    {
        w.WriteNumber("code", code);
        w.WriteString("reason", reason);
    });

    /// <summary>An HTTP API error: {"error": "..."}.</summary>
    public static byte[] ApiError(string error) => Write(w => w.WriteString("error", error));

    /// <summary>An RFC 9457 problem document (type about:blank) for a refused HTTP request.</summary>
    public static byte[] Problem(int status, string detail)
        => Write(w =>
        {
            w.WriteString("title", Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status));
            w.WriteNumber("status", status);
            w.WriteString("detail", detail);
        });

    /// <summary>GET /api/rooms: each room and how many peers it holds.</summary>
    public static byte[] Rooms(IReadOnlyList<RoomSnapshot> rooms)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (RoomSnapshot room in rooms)
            {
                w.WriteStartObject();
                w.WriteString("room", room.Room);
                w.WriteNumber("peers", room.Peers.Count);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>GET /api/rooms/{room}: the room and its peers.</summary>
    public static byte[] Room(RoomSnapshot room) => Write(w =>
    {
        w.WriteString("room", room.Room);
        w.WriteStartArray("peers");
        foreach (PeerSnapshot peer in room.Peers)
        {
            w.WriteStartObject();
            w.WriteString("id", peer.Id);
            if (peer.Name is not null)
            {
                w.WriteString("name", peer.Name);
            }

            w.WriteBoolean("connected", peer.Connected);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private static void WritePeer(Utf8JsonWriter w, Peer peer) => WritePeer(w, peer.Id, peer.Name, peer.Meta);

    private static void WritePeer(Utf8JsonWriter w, string id, string? name, byte[]? meta)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        if (name is not null)
        {
            w.WriteString("name", name);
        }

        if (meta is not null)
        {
            w.WritePropertyName("meta");
            w.WriteRawValue(meta, skipInputValidation: true);
        }

        w.WriteEndObject();
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
