using System.Buffers.Binary;

namespace Turn.Wire;

/// <summary>
/// A validated view of one STUN message over the caller's bytes (RFC 8489 §5, §14).
/// Parsing checks the header, walks every attribute once, places MESSAGE-INTEGRITY,
/// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, and verifies FINGERPRINT. It never throws
/// and never allocates.
/// </summary>
internal readonly ref struct StunMessage
{
    private readonly int _attributesEnd;

    private StunMessage(ReadOnlySpan<byte> raw, int attributesEnd, int integrity, int integritySha256, int fingerprint)
    {
        Raw = raw;
        _attributesEnd = attributesEnd;
        IntegrityOffset = integrity;
        IntegritySha256Offset = integritySha256;
        FingerprintOffset = fingerprint;
    }

    public ReadOnlySpan<byte> Raw { get; }

    public ushort MessageType => StunHeader.ReadType(Raw);

    public StunMethod Method => StunMessageType.GetMethod(MessageType);

    public StunClass Class => StunMessageType.GetClass(MessageType);

    /// <summary>False for a classic RFC 3489 message, whose transaction ID takes the cookie's place (RFC 8489 §12).</summary>
    public bool HasMagicCookie => StunHeader.HasMagicCookie(Raw);

    /// <summary>The 96-bit transaction ID (RFC 8489 §5).</summary>
    public ReadOnlySpan<byte> TransactionId => Raw.Slice(8, StunHeader.TransactionIdLength);

    /// <summary>Cookie and transaction ID together: the 128-bit ID of a classic RFC 3489 message.</summary>
    public ReadOnlySpan<byte> CookieAndTransactionId => Raw.Slice(4, 16);

    /// <summary>Offset of the MESSAGE-INTEGRITY attribute header, or -1.</summary>
    public int IntegrityOffset { get; }

    /// <summary>Offset of the MESSAGE-INTEGRITY-SHA256 attribute header, or -1.</summary>
    public int IntegritySha256Offset { get; }

    /// <summary>Offset of the FINGERPRINT attribute header, or -1.</summary>
    public int FingerprintOffset { get; }

    /// <summary>The attributes that count: those after MESSAGE-INTEGRITY are ignored (RFC 8489 §14.5), bar the integrity and fingerprint attributes themselves.</summary>
    public StunAttributeEnumerator Attributes => new(Raw, _attributesEnd);

    /// <summary>Parses exactly one message that fills <paramref name="data"/> (a datagram, or a frame cut by <see cref="StreamFraming"/>).</summary>
    public static StunParseStatus TryParse(ReadOnlySpan<byte> data, out StunMessage message)
    {
        message = default;
        StunParseStatus header = CheckHeader(data);
        if (header != StunParseStatus.Ok)
        {
            return header;
        }

        bool cookie = StunHeader.HasMagicCookie(data);
        int integrity = -1;
        int integritySha256 = -1;
        int fingerprint = -1;
        int countedEnd = -1;
        int offset = StunHeader.Length;
        while (offset < data.Length)
        {
            if (fingerprint >= 0 || offset + 4 > data.Length)
            {
                // RFC 8489 §14.7: FINGERPRINT is the last attribute.
                return StunParseStatus.MalformedAttribute;
            }

            var type = (StunAttributeType)BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);
            int valueLength = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
            int next = offset + 4 + Padding.Pad4(valueLength);
            if (next > data.Length)
            {
                return StunParseStatus.MalformedAttribute;
            }

            switch (type)
            {
                case StunAttributeType.MessageIntegrity when integrity < 0 && integritySha256 < 0:
                    if (valueLength != MessageIntegrity.Sha1Length || !cookie)
                    {
                        return StunParseStatus.MalformedAttribute;
                    }

                    integrity = offset;
                    countedEnd = countedEnd < 0 ? offset : countedEnd;
                    break;
                case StunAttributeType.MessageIntegritySha256 when integritySha256 < 0:
                    // RFC 8489 §14.6: 16 to 32 bytes, a multiple of four.
                    if (valueLength < 16 || valueLength > MessageIntegrity.Sha256Length || (valueLength & 3) != 0 || !cookie)
                    {
                        return StunParseStatus.MalformedAttribute;
                    }

                    integritySha256 = offset;
                    countedEnd = countedEnd < 0 ? offset : countedEnd;
                    break;
                case StunAttributeType.Fingerprint:
                    if (valueLength != 4 || !cookie)
                    {
                        return StunParseStatus.MalformedAttribute;
                    }

                    fingerprint = offset;
                    countedEnd = countedEnd < 0 ? offset : countedEnd;
                    break;
                default:
                    break;
            }

            offset = next;
        }

        if (fingerprint >= 0 && !Fingerprint.Verify(data, fingerprint))
        {
            return StunParseStatus.BadFingerprint;
        }

        message = new StunMessage(data, countedEnd < 0 ? data.Length : countedEnd, integrity, integritySha256, fingerprint);
        return StunParseStatus.Ok;
    }

    /// <summary>The first two bits zero, a length that is a multiple of four and matches the data (RFC 8489 §5).</summary>
    private static StunParseStatus CheckHeader(ReadOnlySpan<byte> data)
    {
        if (data.Length < StunHeader.Length)
        {
            return data.Length > 0 && (data[0] & 0xC0) != 0 ? StunParseStatus.NotStun : StunParseStatus.Truncated;
        }

        if ((data[0] & 0xC0) != 0)
        {
            return StunParseStatus.NotStun;
        }

        int length = StunHeader.ReadLength(data);
        if ((length & 3) != 0)
        {
            return StunParseStatus.BadLength;
        }

        if (StunHeader.Length + length > data.Length)
        {
            return StunParseStatus.Truncated;
        }

        if (StunHeader.Length + length < data.Length)
        {
            return StunParseStatus.BadLength;
        }

        return StunParseStatus.Ok;
    }

    public bool TryGetAttribute(StunAttributeType type, out ReadOnlySpan<byte> value)
    {
        foreach (StunAttribute attribute in Attributes)
        {
            if (attribute.Type == (ushort)type)
            {
                value = attribute.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    public bool Contains(StunAttributeType type) => TryGetAttribute(type, out _);

    /// <summary>
    /// Collects comprehension-required attributes that <paramref name="isKnown"/> rejects,
    /// for a 420 response (RFC 8489 §6.3.1). Returns how many were written.
    /// </summary>
    public int CollectUnknownRequired(Func<ushort, bool> isKnown, Span<ushort> unknown)
    {
        int count = 0;
        foreach (StunAttribute attribute in Attributes)
        {
            if (attribute.IsComprehensionRequired && !isKnown(attribute.Type) && count < unknown.Length
                && unknown[..count].IndexOf(attribute.Type) < 0)
            {
                unknown[count++] = attribute.Type;
            }
        }

        return count;
    }
}
