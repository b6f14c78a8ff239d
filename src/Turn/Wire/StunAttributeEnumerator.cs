using System.Buffers.Binary;

namespace Turn.Wire;

/// <summary>Walks the attributes of an already validated message, up to the ones that count.</summary>
internal ref struct StunAttributeEnumerator
{
    private readonly ReadOnlySpan<byte> _message;
    private readonly int _end;
    private int _next;

    public StunAttributeEnumerator(ReadOnlySpan<byte> message, int end)
    {
        _message = message;
        _end = end;
        _next = StunHeader.Length;
        Current = default;
    }

    public StunAttribute Current { get; private set; }

    public readonly StunAttributeEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_next + 4 > _end)
        {
            return false;
        }

        ushort type = BinaryPrimitives.ReadUInt16BigEndian(_message[_next..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(_message[(_next + 2)..]);
        Current = new StunAttribute(type, _message.Slice(_next + 4, length), _next);
        _next += 4 + Padding.Pad4(length);
        return true;
    }
}
