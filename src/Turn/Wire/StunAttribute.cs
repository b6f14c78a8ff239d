namespace Turn.Wire;

/// <summary>One attribute as found in a message: its type and its unpadded value (RFC 8489 §14).</summary>
internal readonly ref struct StunAttribute(ushort type, ReadOnlySpan<byte> value, int offset)
{
    public ushort Type { get; } = type;

    public ReadOnlySpan<byte> Value { get; } = value;

    /// <summary>Offset of the attribute header from the start of the message.</summary>
    public int Offset { get; } = offset;

    /// <summary>Types below 0x8000 must be understood by the receiver (RFC 8489 §14).</summary>
    public bool IsComprehensionRequired => Type < 0x8000;
}
