using System.Buffers.Binary;

namespace Turn.Wire;

/// <summary>
/// ERROR-CODE (RFC 8489 §14.8) and, sharing its layout after a family byte, ADDRESS-ERROR-CODE (RFC 8656 §18.12):
/// <code>
/// |           Reserved, should be 0         |Class|     Number    |
/// |      Reason Phrase (variable)                                ..
/// </code>
/// </summary>
internal static class ErrorCodeAttribute
{
    /// <summary>RFC 8489 §14.8: the reason phrase is fewer than 128 characters and at most 763 bytes.</summary>
    public const int MaxReasonBytes = 763;

    public static bool TryRead(ReadOnlySpan<byte> value, out int code, out ReadOnlySpan<byte> reason)
    {
        code = 0;
        reason = default;
        if (value.Length < 4 || value.Length - 4 > MaxReasonBytes)
        {
            return false;
        }

        int errorClass = value[2] & 0x07;
        int number = value[3];
        if (errorClass < 3 || errorClass > 6 || number > 99)
        {
            return false;
        }

        code = (errorClass * 100) + number;
        reason = value[4..];
        return TextAttribute.IsValid(reason, MaxReasonBytes);
    }

    /// <summary>ADDRESS-ERROR-CODE: family byte, reserved byte, then class and number (RFC 8656 §18.12).</summary>
    public static bool TryReadAddressError(ReadOnlySpan<byte> value, out byte family, out int code, out ReadOnlySpan<byte> reason)
    {
        family = value.Length > 0 ? value[0] : (byte)0;
        return TryRead(value, out code, out reason);
    }

    public static int Write(Span<byte> destination, int code, ReadOnlySpan<char> reason, byte family = 0)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(family << 8));
        destination[2] = (byte)(code / 100);
        destination[3] = (byte)(code % 100);
        return 4 + TextAttribute.WriteUtf8(destination[4..], reason, MaxReasonBytes);
    }
}
