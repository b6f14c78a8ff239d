using System.Buffers.Binary;

namespace Turn.Wire;

/// <summary>
/// Builds one STUN message in a caller's buffer: header first, then attributes, each
/// padded with zeros to four bytes (RFC 8489 §14), the header length kept current so
/// MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT can be appended last. Allocates nothing.
/// </summary>
internal ref struct StunWriter
{
    private readonly Span<byte> _buffer;
    private int _length;

    /// <summary>Starts a message; <paramref name="cookieAndTransactionId"/> is 16 bytes: the magic cookie and the ID, or a classic 128-bit ID.</summary>
    public StunWriter(Span<byte> buffer, ushort messageType, scoped ReadOnlySpan<byte> cookieAndTransactionId)
    {
        if (buffer.Length < StunHeader.Length || cookieAndTransactionId.Length != 16)
        {
            throw new ArgumentException("A STUN message needs a 20-byte header and a 16-byte cookie and transaction ID.", nameof(buffer));
        }

        _buffer = buffer;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, messageType);
        StunHeader.WriteLength(buffer, 0);
        cookieAndTransactionId.CopyTo(buffer[4..]);
        _length = StunHeader.Length;
    }

    /// <summary>Starts a message with the magic cookie and a 12-byte transaction ID.</summary>
    public static StunWriter Create(Span<byte> buffer, StunMethod method, StunClass messageClass, scoped ReadOnlySpan<byte> transactionId)
    {
        if (transactionId.Length != StunHeader.TransactionIdLength)
        {
            throw new ArgumentException("A transaction ID is 12 bytes.", nameof(transactionId));
        }

        Span<byte> cookieAndId = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(cookieAndId, StunHeader.MagicCookie);
        transactionId.CopyTo(cookieAndId[4..]);
        return new StunWriter(buffer, StunMessageType.Compose(method, messageClass), cookieAndId);
    }

    public readonly int Length => _length;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._length];

    /// <summary>Bytes 4..20 of the header, against which XOR addresses are encoded.</summary>
    public readonly ReadOnlySpan<byte> CookieAndTransactionId => _buffer.Slice(4, 16);

    /// <summary>A response to <paramref name="request"/>: same method, same cookie and transaction ID.</summary>
    public static StunWriter ForResponse(Span<byte> buffer, in StunMessage request, StunClass responseClass)
        => new(buffer, StunMessageType.Compose(request.Method, responseClass), request.CookieAndTransactionId);

    /// <summary>Appends an attribute header and returns the space for its value; padding is zeroed.</summary>
    public Span<byte> Reserve(StunAttributeType type, int valueLength)
    {
        int padded = Padding.Pad4(valueLength);
        if (valueLength > ushort.MaxValue || _length + 4 + padded > _buffer.Length || _length + 4 + padded > StunHeader.MaxMessageLength)
        {
            throw new InvalidOperationException($"STUN message buffer of {_buffer.Length} bytes is too small for attribute {type}.");
        }

        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_length..], (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(_length + 2)..], (ushort)valueLength);
        Span<byte> value = _buffer.Slice(_length + 4, valueLength);
        _buffer.Slice(_length + 4 + valueLength, padded - valueLength).Clear();
        _length += 4 + padded;
        StunHeader.WriteLength(_buffer, _length - StunHeader.Length);
        return value;
    }

    public void AddBytes(StunAttributeType type, scoped ReadOnlySpan<byte> value) => value.CopyTo(Reserve(type, value.Length));

    public void AddEmpty(StunAttributeType type) => Reserve(type, 0);

    public void AddUInt32(StunAttributeType type, uint value) => BinaryPrimitives.WriteUInt32BigEndian(Reserve(type, 4), value);

    /// <summary>A 16-bit value followed by two reserved bytes (CHANNEL-NUMBER, RESPONSE-PORT).</summary>
    public void AddUInt16Reserved(StunAttributeType type, ushort value)
    {
        Span<byte> v = Reserve(type, 4);
        BinaryPrimitives.WriteUInt16BigEndian(v, value);
        v[2] = 0;
        v[3] = 0;
    }

    /// <summary>One byte followed by three reserved bytes (REQUESTED-TRANSPORT, REQUESTED-ADDRESS-FAMILY...).</summary>
    public void AddByteReserved(StunAttributeType type, byte value)
    {
        Span<byte> v = Reserve(type, 4);
        v[0] = value;
        v[1..].Clear();
    }

    /// <summary>UTF-8 text, cut at a character boundary to the attribute's limit.</summary>
    public void AddText(StunAttributeType type, ReadOnlySpan<char> text)
    {
        int maxBytes = TextAttribute.MaxBytes(type);
        Span<byte> scratch = stackalloc byte[TextAttribute.MaxTextBytes];
        int written = TextAttribute.WriteUtf8(scratch, text, maxBytes);
        AddBytes(type, scratch[..written]);
    }

    public void AddAddress(StunAttributeType type, StunAddress address)
        => AddressAttribute.Write(Reserve(type, AddressAttribute.ValueLength(address)), address);

    public void AddXorAddress(StunAttributeType type, StunAddress address)
    {
        Span<byte> value = Reserve(type, AddressAttribute.ValueLength(address));
        AddressAttribute.WriteXor(value, address, _buffer.Slice(4, 16));
    }

    public void AddErrorCode(int code, ReadOnlySpan<char> reason)
    {
        Span<byte> scratch = stackalloc byte[4 + ErrorCodeAttribute.MaxReasonBytes];
        int written = ErrorCodeAttribute.Write(scratch, code, reason);
        AddBytes(StunAttributeType.ErrorCode, scratch[..written]);
    }

    /// <summary>RFC 8489 §14.13: a list of 16-bit attribute types.</summary>
    public void AddUnknownAttributes(ReadOnlySpan<ushort> types)
    {
        Span<byte> value = Reserve(StunAttributeType.UnknownAttributes, types.Length * 2);
        for (int i = 0; i < types.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(value[(i * 2)..], types[i]);
        }
    }

    /// <summary>RFC 8489 §14.5: HMAC-SHA1 with the long-term or short-term key.</summary>
    public void AddMessageIntegrity(ReadOnlySpan<byte> key) => AddIntegrity(key, sha256: false);

    /// <summary>RFC 8489 §14.6: HMAC-SHA256, full 32 bytes.</summary>
    public void AddMessageIntegritySha256(ReadOnlySpan<byte> key) => AddIntegrity(key, sha256: true);

    /// <summary>RFC 8489 §14.7: must be the last attribute.</summary>
    public void AddFingerprint()
    {
        Span<byte> value = Reserve(StunAttributeType.Fingerprint, 4);
        BinaryPrimitives.WriteUInt32BigEndian(value, Fingerprint.Compute(_buffer[..(_length - 8)]));
    }

    private void AddIntegrity(ReadOnlySpan<byte> key, bool sha256)
    {
        int macLength = sha256 ? MessageIntegrity.Sha256Length : MessageIntegrity.Sha1Length;
        int start = _length;
        Span<byte> value = Reserve(sha256 ? StunAttributeType.MessageIntegritySha256 : StunAttributeType.MessageIntegrity, macLength);
        MessageIntegrity.Compute(_buffer[..start], sha256, key, value);
    }
}
