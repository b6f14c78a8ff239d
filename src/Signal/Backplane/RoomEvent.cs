using System.Buffers.Binary;
using System.Text;

namespace Turn.Signal.Backplane;

/// <summary>What one daemon tells the others about a room it has members in.</summary>
internal enum RoomEventKind : byte
{
    /// <summary>A member was seated on the sending node (id, name, meta). Also a room's member entry in Redis, whose message is "away" while the member's connection is away.</summary>
    Joined = (byte)'J',

    /// <summary>A member left (id).</summary>
    Left = (byte)'L',

    /// <summary>A message for one member (id), relayed as it is to be delivered.</summary>
    To = (byte)'T',

    /// <summary>A message for every member but the sender (id), relayed as it is to be delivered.</summary>
    All = (byte)'A',

    /// <summary>A member (id) resumed on the sending node: the node that held its seat lets it go and sends on what it kept.</summary>
    Moved = (byte)'M',
}

/// <summary>
/// One room event on the backplane, and its bytes: the kind, then the sending node, the member's
/// id, its name and metadata (each a 16-bit big-endian length and UTF-8; a length of 0xFFFF for
/// none), then the message to deliver. No I/O; a malformed event decodes to false.
/// </summary>
internal readonly record struct RoomEvent(RoomEventKind Kind, string Node, string Id, string? Name, byte[]? Meta, ReadOnlyMemory<byte> Message)
{
    private const ushort None = ushort.MaxValue;

    public byte[] Encode()
    {
        int length = 1 + Field(Node) + Field(Id) + Field(Name) + 2 + (Meta?.Length ?? 0) + Message.Length;
        byte[] bytes = new byte[length];
        Span<byte> span = bytes;
        span[0] = (byte)Kind;
        span = span[1..];
        span = Write(span, Node);
        span = Write(span, Id);
        span = Write(span, Name);
        span = Write(span, Meta);
        Message.Span.CopyTo(span);
        return bytes;
    }

    public static bool TryDecode(ReadOnlyMemory<byte> bytes, out RoomEvent decoded)
    {
        decoded = default;
        ReadOnlySpan<byte> span = bytes.Span;
        if (span.IsEmpty || !Enum.IsDefined((RoomEventKind)span[0]))
        {
            return false;
        }

        int offset = 1;
        if (!TryRead(span, ref offset, out Range? node) || node is null
            || !TryRead(span, ref offset, out Range? id) || id is null
            || !TryRead(span, ref offset, out Range? name)
            || !TryRead(span, ref offset, out Range? meta))
        {
            return false;
        }

        decoded = new RoomEvent(
            (RoomEventKind)span[0],
            Encoding.UTF8.GetString(span[node.Value]),
            Encoding.UTF8.GetString(span[id.Value]),
            name is null ? null : Encoding.UTF8.GetString(span[name.Value]),
            meta is null ? null : span[meta.Value].ToArray(),
            bytes[offset..]);
        return true;
    }

    private static int Field(string? text) => 2 + (text is null ? 0 : Encoding.UTF8.GetByteCount(text));

    private static Span<byte> Write(Span<byte> span, string? text)
    {
        if (text is null)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span, None);
            return span[2..];
        }

        int length = Encoding.UTF8.GetBytes(text, span[2..]);
        BinaryPrimitives.WriteUInt16BigEndian(span, checked((ushort)length));
        return span[(2 + length)..];
    }

    private static Span<byte> Write(Span<byte> span, byte[]? bytes)
    {
        if (bytes is null)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span, None);
            return span[2..];
        }

        BinaryPrimitives.WriteUInt16BigEndian(span, checked((ushort)bytes.Length));
        bytes.CopyTo(span[2..]);
        return span[(2 + bytes.Length)..];
    }

    /// <summary>The next field: where it lies, or null for none; false when the bytes end before it does.</summary>
    private static bool TryRead(ReadOnlySpan<byte> span, ref int offset, out Range? value)
    {
        value = null;
        if (span.Length - offset < 2)
        {
            return false;
        }

        ushort length = BinaryPrimitives.ReadUInt16BigEndian(span[offset..]);
        offset += 2;
        if (length == None)
        {
            return true;
        }

        if (span.Length - offset < length)
        {
            return false;
        }

        value = offset..(offset + length);
        offset += length;
        return true;
    }
}
