using System.Text;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>USERNAME (RFC 8489 §14.3), REALM, NONCE, SOFTWARE (§14.9, §14.10, §14.14) and ALTERNATE-DOMAIN (§14.16) limits.</summary>
public sealed class TextAttributeTests
{
    [Fact]
    public void Username_Of508BytesIsValidAnd509IsNot()
    {
        int max = TextAttribute.MaxBytes(StunAttributeType.Username);

        Assert.Equal(508, max);
        Assert.True(TextAttribute.IsValid(Encoding.UTF8.GetBytes(new string('u', 508)), max));
        Assert.False(TextAttribute.IsValid(Encoding.UTF8.GetBytes(new string('u', 509)), max));
    }

    [Fact]
    public void Realm_Of127CharactersIsValidAnd128IsNot()
    {
        Assert.Equal(TextAttribute.MaxTextBytes, TextAttribute.MaxBytes(StunAttributeType.Realm));
        Assert.True(TextAttribute.IsValid(Encoding.UTF8.GetBytes(new string('r', 127)), TextAttribute.MaxTextBytes));
        Assert.False(TextAttribute.IsValid(Encoding.UTF8.GetBytes(new string('r', 128)), TextAttribute.MaxTextBytes));

        // Counted in characters, not bytes: 127 three-byte characters are 381 bytes and still fine.
        Assert.True(TextAttribute.IsValid(Encoding.UTF8.GetBytes(new string('\u30DE', 127)), TextAttribute.MaxTextBytes));
        Assert.False(TextAttribute.IsValid(Encoding.UTF8.GetBytes(new string('\u30DE', 128)), TextAttribute.MaxTextBytes));
    }

    [Fact]
    public void AlternateDomain_LimitIs255Bytes()
    {
        int max = TextAttribute.MaxBytes(StunAttributeType.AlternateDomain);
        Assert.Equal(255, max);
        Assert.True(TextAttribute.IsValid(Encoding.UTF8.GetBytes(new string('d', 255)), max));
        Assert.False(TextAttribute.IsValid(Encoding.UTF8.GetBytes(new string('d', 256)), max));
    }

    [Theory]
    [InlineData("C3")]
    [InlineData("C328")]
    [InlineData("FF")]
    [InlineData("EDA080")]
    [InlineData("C080")]
    public void InvalidUtf8_IsRejected(string hex)
    {
        Assert.False(TextAttribute.IsValid(Convert.FromHexString(hex), TextAttribute.MaxUsernameBytes));
        Assert.False(TextAttribute.IsValid(Convert.FromHexString(hex), TextAttribute.MaxTextBytes));
    }

    [Fact]
    public void LongUsername_IsCutByTheWriterAtACharacterBoundary()
    {
        byte[] buffer = new byte[1024];
        var writer = StunWriter.Create(buffer, StunMethod.Allocate, StunClass.Request, new byte[12]);
        writer.AddText(StunAttributeType.Username, new string('\u30DE', 200));
        writer.AddText(StunAttributeType.Nonce, new string('n', 20));

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(writer.Written, out StunMessage message));
        Assert.True(TextAttribute.TryRead(message, StunAttributeType.Username, out ReadOnlySpan<byte> username));
        Assert.Equal(507, username.Length);
        Assert.Equal(new string('\u30DE', 169), Encoding.UTF8.GetString(username));
        Assert.True(TextAttribute.TryRead(message, StunAttributeType.Nonce, out ReadOnlySpan<byte> nonce));
        Assert.Equal(new string('n', 20), Encoding.UTF8.GetString(nonce));
    }

    [Theory]
    [InlineData((ushort)StunAttributeType.Realm)]
    [InlineData((ushort)StunAttributeType.Nonce)]
    [InlineData((ushort)StunAttributeType.Software)]
    public void LongText_IsWrittenSoThatItReadsBack(ushort attributeType)
    {
        var type = (StunAttributeType)attributeType;
        byte[] buffer = new byte[1024];
        var writer = StunWriter.Create(buffer, StunMethod.Allocate, StunClass.ErrorResponse, new byte[12]);
        writer.AddText(type, new string('t', 200));
        writer.AddText(type, "\U0001F600" + new string('\u00E9', 300));

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(writer.Written, out StunMessage message));
        int count = 0;
        foreach (StunAttribute attribute in message.Attributes)
        {
            Assert.True(TextAttribute.IsValid(attribute.Value, TextAttribute.MaxBytes(type)), $"attribute {count} is not valid {type}");
            count++;
        }

        Assert.Equal(2, count);
    }

    [Fact]
    public void MissingAttribute_IsNotRead()
    {
        byte[] message = Vectors.Load(Vectors.Rfc5769Ipv4Response);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(message, out StunMessage parsed));
        Assert.False(TextAttribute.TryRead(parsed, StunAttributeType.Username, out _));
    }
}
