using System.Text;
using System.Text.Unicode;

namespace Turn.Wire;

/// <summary>
/// UTF-8 text attributes and their limits: USERNAME (RFC 8489 §14.3, under 509 bytes),
/// REALM, NONCE and SOFTWARE (§14.9, §14.10, §14.14: under 128 characters, at most 763 bytes),
/// ALTERNATE-DOMAIN (§14.16, a host name of at most 255 bytes).
/// </summary>
internal static class TextAttribute
{
    public const int MaxUsernameBytes = 508;
    public const int MaxTextBytes = 763;
    public const int MaxTextChars = 127;
    public const int MaxDomainBytes = 255;

    public static int MaxBytes(StunAttributeType type) => type switch
    {
        StunAttributeType.Username => MaxUsernameBytes,
        StunAttributeType.AlternateDomain => MaxDomainBytes,
        _ => MaxTextBytes,
    };

    /// <summary>Valid UTF-8 within the byte limit and, for the limited kinds, under 128 characters.</summary>
    public static bool IsValid(ReadOnlySpan<byte> value, int maxBytes)
    {
        if (value.Length > maxBytes || !Utf8.IsValid(value))
        {
            return false;
        }

        return maxBytes != MaxTextBytes || Encoding.UTF8.GetCharCount(value) <= MaxTextChars;
    }

    public static bool TryRead(in StunMessage message, StunAttributeType type, out ReadOnlySpan<byte> value)
        => message.TryGetAttribute(type, out value) && IsValid(value, MaxBytes(type));

    /// <summary>Encodes as much of <paramref name="text"/> as fits whole characters in <paramref name="maxBytes"/>.</summary>
    public static int WriteUtf8(Span<byte> destination, ReadOnlySpan<char> text, int maxBytes)
    {
        // The kinds limited to 127 characters are cut there too, counted as IsValid counts them, so what is written reads back.
        if (maxBytes == MaxTextBytes && text.Length > MaxTextChars)
        {
            text = text[..(char.IsHighSurrogate(text[MaxTextChars - 1]) ? MaxTextChars - 1 : MaxTextChars)];
        }

        Span<byte> target = destination.Length > maxBytes ? destination[..maxBytes] : destination;
        Utf8.FromUtf16(text, target, out _, out int written, replaceInvalidSequences: true, isFinalBlock: true);
        return written;
    }
}
