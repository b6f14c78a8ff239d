using System.Text;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>ERROR-CODE (RFC 8489 §14.8) and ADDRESS-ERROR-CODE (RFC 8656 §18.12).</summary>
public sealed class ErrorCodeAttributeTests
{
    [Theory]
    [InlineData(300, "Try Alternate")]
    [InlineData(400, "Bad Request")]
    [InlineData(401, "Unauthorized")]
    [InlineData(420, "Unknown Attribute")]
    [InlineData(438, "Stale Nonce")]
    [InlineData(508, "Insufficient Capacity")]
    [InlineData(699, "")]
    public void ErrorCode_RoundTrips(int code, string reason)
    {
        byte[] value = new byte[4 + ErrorCodeAttribute.MaxReasonBytes];
        int length = ErrorCodeAttribute.Write(value, code, reason);

        Assert.Equal(4 + Encoding.UTF8.GetByteCount(reason), length);
        Assert.Equal(new byte[] { 0, 0, (byte)(code / 100), (byte)(code % 100) }, value.AsSpan(0, 4).ToArray());
        Assert.True(ErrorCodeAttribute.TryRead(value.AsSpan(0, length), out int read, out ReadOnlySpan<byte> readReason));
        Assert.Equal(code, read);
        Assert.Equal(reason, Encoding.UTF8.GetString(readReason));
    }

    [Fact]
    public void ErrorCode_ThroughWriterAndParser_RoundTrips()
    {
        byte[] buffer = new byte[128];
        var writer = StunWriter.Create(buffer, StunMethod.Refresh, StunClass.ErrorResponse, new byte[12]);
        writer.AddErrorCode(438, "Stale Nonce");
        writer.AddFingerprint();

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(writer.Written, out StunMessage message));
        Assert.Equal(StunClass.ErrorResponse, message.Class);
        Assert.True(message.TryGetAttribute(StunAttributeType.ErrorCode, out ReadOnlySpan<byte> value));
        Assert.Equal(4 + 11, value.Length);
        Assert.True(ErrorCodeAttribute.TryRead(value, out int code, out ReadOnlySpan<byte> reason));
        Assert.Equal(438, code);
        Assert.Equal("Stale Nonce", Encoding.UTF8.GetString(reason));
    }

    [Theory]
    [InlineData("00000000")]
    [InlineData("00000100")]
    [InlineData("00000263")]
    [InlineData("00000700")]
    [InlineData("000007FF")]
    [InlineData("00000464")]
    [InlineData("000004FF")]
    [InlineData("000004")]
    [InlineData("")]
    public void InvalidClassNumberOrSize_IsRejected(string hex)
        => Assert.False(ErrorCodeAttribute.TryRead(Convert.FromHexString(hex), out _, out _));

    [Fact]
    public void ReservedBitsAboveClass_AreIgnored()
    {
        Assert.True(ErrorCodeAttribute.TryRead(Convert.FromHexString("FFFFFC14"), out int code, out _));
        Assert.Equal(420, code);
    }

    [Fact]
    public void ReasonThatIsNotUtf8_IsRejected()
        => Assert.False(ErrorCodeAttribute.TryRead(Convert.FromHexString("00000414C328"), out _, out _));

    [Fact]
    public void ReasonOfMoreThan127Characters_IsRejected()
    {
        byte[] value = [0, 0, 4, 0, .. Encoding.UTF8.GetBytes(new string('r', 128))];
        Assert.False(ErrorCodeAttribute.TryRead(value, out _, out _));
        Assert.True(ErrorCodeAttribute.TryRead(value.AsSpan(0, value.Length - 1), out _, out _));
    }

    [Fact]
    public void LongReason_IsWrittenSoThatItReadsBack()
    {
        byte[] value = new byte[4 + ErrorCodeAttribute.MaxReasonBytes];
        int length = ErrorCodeAttribute.Write(value, 400, new string('\u00E9', 300));

        Assert.True(ErrorCodeAttribute.TryRead(value.AsSpan(0, length), out int code, out ReadOnlySpan<byte> reason));
        Assert.Equal(400, code);
        Assert.StartsWith("\u00E9\u00E9", Encoding.UTF8.GetString(reason), StringComparison.Ordinal);
    }

    [Fact]
    public void AddressErrorCode_CarriesFamily()
    {
        byte[] value = new byte[64];
        int length = ErrorCodeAttribute.Write(value, 440, "Address Family not Supported", AddressAttribute.FamilyIPv6);

        Assert.Equal(AddressAttribute.FamilyIPv6, value[0]);
        Assert.Equal(0, value[1]);
        Assert.True(ErrorCodeAttribute.TryReadAddressError(value.AsSpan(0, length), out byte family, out int code, out ReadOnlySpan<byte> reason));
        Assert.Equal(AddressAttribute.FamilyIPv6, family);
        Assert.Equal(440, code);
        Assert.Equal("Address Family not Supported", Encoding.UTF8.GetString(reason));
    }
}
