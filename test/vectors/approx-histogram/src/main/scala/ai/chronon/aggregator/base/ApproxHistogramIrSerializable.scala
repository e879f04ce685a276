// The shape of airbnb Chronon's APPROX_HISTOGRAM_K IR as it is serialized (aggregator/base/SimpleAggregators.scala,
// airbnb/chronon 5edd4fc): the same package, name, type parameter, context bound and fields, so that scalac 2.12
// emits the same class and the JVM derives the same default serialVersionUID. FrequentItemsFriendly is reduced to its
// name: a context bound only adds a constructor parameter of that type, which the class does not keep.
package ai.chronon.aggregator.base

import java.util

trait FrequentItemsFriendly[Input]

object FrequentItemsFriendly {
  implicit val forString: FrequentItemsFriendly[String] = new FrequentItemsFriendly[String] {}
  implicit val forLong: FrequentItemsFriendly[java.lang.Long] = new FrequentItemsFriendly[java.lang.Long] {}
  implicit val forDouble: FrequentItemsFriendly[java.lang.Double] = new FrequentItemsFriendly[java.lang.Double] {}
}

case class ApproxHistogramIrSerializable[T: FrequentItemsFriendly](
    isApprox: Boolean,
    sketch: Option[Array[Byte]],
    histogram: Option[util.Map[T, Long]]
)
