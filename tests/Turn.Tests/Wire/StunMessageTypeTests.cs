using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>RFC 8489 §5: method and class bits interleaved in the 14-bit message type.</summary>
public sealed class StunMessageTypeTests
{
    [Theory]
    [InlineData(nameof(StunMethod.Binding), nameof(StunClass.Request), 0x0001)]
    [InlineData(nameof(StunMethod.Binding), nameof(StunClass.Indication), 0x0011)]
    [InlineData(nameof(StunMethod.Binding), nameof(StunClass.SuccessResponse), 0x0101)]
    [InlineData(nameof(StunMethod.Binding), nameof(StunClass.ErrorResponse), 0x0111)]
    [InlineData(nameof(StunMethod.Allocate), nameof(StunClass.Request), 0x0003)]
    [InlineData(nameof(StunMethod.Allocate), nameof(StunClass.SuccessResponse), 0x0103)]
    [InlineData(nameof(StunMethod.Allocate), nameof(StunClass.ErrorResponse), 0x0113)]
    [InlineData(nameof(StunMethod.Refresh), nameof(StunClass.Request), 0x0004)]
    [InlineData(nameof(StunMethod.Refresh), nameof(StunClass.SuccessResponse), 0x0104)]
    [InlineData(nameof(StunMethod.Refresh), nameof(StunClass.ErrorResponse), 0x0114)]
    [InlineData(nameof(StunMethod.Send), nameof(StunClass.Indication), 0x0016)]
    [InlineData(nameof(StunMethod.Data), nameof(StunClass.Indication), 0x0017)]
    [InlineData(nameof(StunMethod.CreatePermission), nameof(StunClass.Request), 0x0008)]
    [InlineData(nameof(StunMethod.CreatePermission), nameof(StunClass.SuccessResponse), 0x0108)]
    [InlineData(nameof(StunMethod.CreatePermission), nameof(StunClass.ErrorResponse), 0x0118)]
    [InlineData(nameof(StunMethod.ChannelBind), nameof(StunClass.Request), 0x0009)]
    [InlineData(nameof(StunMethod.ChannelBind), nameof(StunClass.SuccessResponse), 0x0109)]
    [InlineData(nameof(StunMethod.ChannelBind), nameof(StunClass.ErrorResponse), 0x0119)]
    [InlineData(nameof(StunMethod.Connect), nameof(StunClass.Request), 0x000A)]
    [InlineData(nameof(StunMethod.ConnectionBind), nameof(StunClass.Request), 0x000B)]
    [InlineData(nameof(StunMethod.ConnectionAttempt), nameof(StunClass.Indication), 0x001C)]
    public void Compose_KnownMethodAndClass_GivesRegisteredType(string methodName, string className, int expected)
    {
        StunMethod method = Enum.Parse<StunMethod>(methodName);
        StunClass messageClass = Enum.Parse<StunClass>(className);
        Assert.Equal(expected, StunMessageType.Compose(method, messageClass));
        Assert.Equal(method, StunMessageType.GetMethod((ushort)expected));
        Assert.Equal(messageClass, StunMessageType.GetClass((ushort)expected));
    }

    [Fact]
    public void ComposeAndDecompose_EveryTwelveBitMethodAndEveryClass_RoundTrip()
    {
        var seen = new HashSet<ushort>();
        for (int method = 0; method <= 0xFFF; method++)
        {
            foreach (StunClass messageClass in Enum.GetValues<StunClass>())
            {
                ushort type = StunMessageType.Compose((StunMethod)method, messageClass);
                Assert.Equal(0, type & 0xC000);
                Assert.Equal((StunMethod)method, StunMessageType.GetMethod(type));
                Assert.Equal(messageClass, StunMessageType.GetClass(type));
                Assert.True(seen.Add(type));
            }
        }

        Assert.Equal(0x4000, seen.Count);
    }

    [Fact]
    public void Decompose_EveryFourteenBitType_RecomposesToItself()
    {
        for (int type = 0; type < 0x4000; type++)
        {
            Assert.Equal(type, StunMessageType.Compose(StunMessageType.GetMethod((ushort)type), StunMessageType.GetClass((ushort)type)));
        }
    }

    [Fact]
    public void EveryDefinedMethod_RoundTripsThroughAWrittenMessage()
    {
        byte[] buffer = new byte[64];
        foreach (StunMethod method in Enum.GetValues<StunMethod>())
        {
            foreach (StunClass messageClass in Enum.GetValues<StunClass>())
            {
                var writer = StunWriter.Create(buffer, method, messageClass, new byte[12]);
                Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(writer.Written, out StunMessage message));
                Assert.Equal(method, message.Method);
                Assert.Equal(messageClass, message.Class);
            }
        }
    }
}
