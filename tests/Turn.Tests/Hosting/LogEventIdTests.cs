using System.Reflection;
using Microsoft.Extensions.Logging;
using Turn.Hosting;
using Xunit;
using Turn.Cli;

namespace Turn.Tests.Hosting;

public class LogEventIdTests
{
    [Fact]
    public void EveryLogEvent_HasItsOwnIdInTheTurnRange() => AssertUniqueIn(typeof(TurnCli).Assembly, 1000, 1999);

    [Fact]
    public void EveryLogEvent_HasItsOwnIdInTheSignalRange() => AssertUniqueIn(typeof(Turn.Signal.SignalHub).Assembly, 2000, 2999);

    private static void AssertUniqueIn(Assembly assembly, int low, int high)
    {
        var ids = new Dictionary<int, string>();
        foreach (Type type in assembly.GetTypes())
        {
            foreach (MethodInfo method in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            {
                LoggerMessageAttribute? attribute = method.GetCustomAttribute<LoggerMessageAttribute>();
                if (attribute is null)
                {
                    continue;
                }

                string name = $"{type.Name}.{method.Name}";
                Assert.InRange(attribute.EventId, low, high);
                Assert.False(ids.TryGetValue(attribute.EventId, out string? other), $"{name} and {other} share event id {attribute.EventId}");
                ids[attribute.EventId] = name;
            }
        }

        Assert.NotEmpty(ids);
    }
}
