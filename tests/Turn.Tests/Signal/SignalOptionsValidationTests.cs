using Microsoft.Extensions.DependencyInjection;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>The signaling library checks its own options, whoever builds them.</summary>
public sealed class SignalOptionsValidationTests
{
    [Fact]
    public void TheDefaults_HaveNoProblem() => Assert.Empty(new SignalOptions().Validate());

    [Fact]
    public void AddSignal_RefusesOptionsWithProblems_NamingEachKey_AndNoSecret()
    {
        var options = new SignalOptions
        {
            Path = "signal",
            MaxMessageBytes = 10,
            PingIntervalSeconds = 60,
            MaxQueuedBytes = 0,
            ApiKey = "short-api-key-value",
            Redis = "password=hunter2-secret",
        };

        ArgumentException refused = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddSignal(options));

        Assert.Contains("Signal:Path: \"signal\" must start with /", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Signal:MaxMessageBytes: \"10\" is not a whole number (256-1048576)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Signal:PingIntervalSeconds: \"60\" is not a whole number (1-29)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Signal:MaxQueuedMegabytes: \"0\"", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Signal:ApiKey: is shorter than 32 characters", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Signal:Redis: names no Redis endpoint", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("short-api-key-value", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryWholeNumberSetting_MapsToItsOwnProperty()
    {
        var defaults = new SignalOptions();
        foreach (SignalSetting setting in SignalOptions.WholeNumbers)
        {
            int other = setting.Get(defaults) == setting.Max ? setting.Min : setting.Max;
            SignalOptions changed = setting.Set(defaults, other);

            Assert.Equal(other, setting.Get(changed));
            Assert.All(SignalOptions.WholeNumbers.Where(s => s != setting), s => Assert.Equal(s.Get(defaults), s.Get(changed)));
        }

        Assert.Equal(19, SignalOptions.WholeNumbers.Count);
        Assert.Equal(SignalOptions.WholeNumbers.Count, SignalOptions.WholeNumbers.Select(s => s.Key).Distinct().Count());
    }
}
