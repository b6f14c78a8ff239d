using System.Buffers.Binary;
using System.Text;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

/// <summary>A response the handler wrote, copied out of its buffer, with readers for what the tests check.</summary>
internal sealed class TurnReply(byte[] raw)
{
    public byte[] Raw { get; } = raw;

    public StunClass Class => Parse().Class;

    public StunMethod Method => Parse().Method;

    public bool IsSuccess => Class == StunClass.SuccessResponse;

    /// <summary>The ERROR-CODE, or 0 for a success.</summary>
    public int ErrorCode => TryReadError(out int code, out _) ? code : 0;

    public string Reason => TryReadError(out _, out string reason) ? reason : "";

    public string Realm => Encoding.UTF8.GetString(Required(StunAttributeType.Realm));

    public byte[] Nonce => Required(StunAttributeType.Nonce);

    public uint Lifetime => BinaryPrimitives.ReadUInt32BigEndian(Required(StunAttributeType.Lifetime));

    public bool HasFingerprint => Parse().FingerprintOffset > 0;

    public bool HasIntegrity => Parse().IntegrityOffset > 0 || Parse().IntegritySha256Offset > 0;

    /// <summary>The challenge a 401 or 438 carries.</summary>
    public TurnChallenge Challenge => new(Realm, Nonce, Required(StunAttributeType.PasswordAlgorithms));

    public StunMessage Parse()
    {
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(Raw, out StunMessage message));
        return message;
    }

    public bool Has(StunAttributeType type) => Parse().Contains(type);

    public byte[]? Attribute(StunAttributeType type)
        => Parse().TryGetAttribute(type, out ReadOnlySpan<byte> value) ? value.ToArray() : null;

    public byte[] Required(StunAttributeType type)
        => Attribute(type) ?? throw new Xunit.Sdk.XunitException($"{type} missing from {this}");

    /// <summary>Every XOR address of the type, in order (a dual allocation has two XOR-RELAYED-ADDRESS).</summary>
    public List<StunAddress> XorAddresses(StunAttributeType type)
    {
        var addresses = new List<StunAddress>();
        StunMessage message = Parse();
        foreach (StunAttribute attribute in message.Attributes)
        {
            if (attribute.Type == (ushort)type)
            {
                Assert.True(AddressAttribute.TryReadXor(attribute.Value, message.CookieAndTransactionId, out StunAddress address), $"malformed {type}");
                addresses.Add(address);
            }
        }

        return addresses;
    }

    public StunAddress XorAddress(StunAttributeType type) => Assert.Single(XorAddresses(type));

    /// <summary>Whether MESSAGE-INTEGRITY (HMAC-SHA1) is present and verifies with the key.</summary>
    public bool IsSignedWith(byte[] key)
    {
        StunMessage message = Parse();
        return message.IntegrityOffset > 0 && MessageIntegrity.Verify(message.Raw, message.IntegrityOffset, sha256: false, key);
    }

    /// <summary>Whether MESSAGE-INTEGRITY-SHA256 is present and verifies with the key.</summary>
    public bool IsSignedWithSha256(byte[] key)
    {
        StunMessage message = Parse();
        return message.IntegritySha256Offset > 0 && MessageIntegrity.Verify(message.Raw, message.IntegritySha256Offset, sha256: true, key);
    }

    public override string ToString()
    {
        StunParseStatus status = StunMessage.TryParse(Raw, out StunMessage message);
        if (status != StunParseStatus.Ok)
        {
            return $"unparseable response ({status})";
        }

        return message.Class == StunClass.ErrorResponse
            ? $"{message.Method} error {ErrorCode} \"{Reason}\""
            : $"{message.Method} {message.Class}";
    }

    private bool TryReadError(out int code, out string reason)
    {
        code = 0;
        reason = "";
        StunMessage message = Parse();
        if (!message.TryGetAttribute(StunAttributeType.ErrorCode, out ReadOnlySpan<byte> value)
            || !ErrorCodeAttribute.TryRead(value, out code, out ReadOnlySpan<byte> text))
        {
            return false;
        }

        reason = Encoding.UTF8.GetString(text);
        return true;
    }
}
