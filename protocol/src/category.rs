//! Venue categories: the kinds of place the 2021 provincial directives name, each
//! with bilingual labels and a sensible default maximum stay.

use crate::error::{Error, Result};

macro_rules! categories {
    ($( $variant:ident = $code:literal, $slug:literal, $vi:literal, $en:literal, $stay:literal; )*) => {
        /// The kind of venue. Shown to visitors; sets the default maximum stay.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Category {
            $(
                #[doc = concat!($en, " / ", $vi)]
                $variant,
            )*
        }

        impl Category {
            /// Every category, in wire order.
            pub const ALL: &'static [Category] = &[$(Category::$variant),*];

            /// The wire byte.
            pub fn to_byte(self) -> u8 {
                match self { $(Category::$variant => $code,)* }
            }

            /// Parses the wire byte.
            pub fn from_byte(b: u8) -> Result<Category> {
                match b {
                    $($code => Ok(Category::$variant),)*
                    _ => Err(Error::InvalidField { field: "venue category" }),
                }
            }

            /// A short ASCII name for command lines and files, e.g. `bar-karaoke`.
            pub fn slug(self) -> &'static str {
                match self { $(Category::$variant => $slug,)* }
            }

            /// Parses a slug.
            pub fn from_slug(s: &str) -> Option<Category> {
                match s { $($slug => Some(Category::$variant),)* _ => None }
            }

            /// The Vietnamese label.
            pub fn label_vi(self) -> &'static str {
                match self { $(Category::$variant => $vi,)* }
            }

            /// The English label.
            pub fn label_en(self) -> &'static str {
                match self { $(Category::$variant => $en,)* }
            }

            /// The default maximum stay in minutes (auto check-out).
            pub fn default_max_stay_minutes(self) -> u16 {
                match self { $(Category::$variant => $stay,)* }
            }
        }
    };
}

categories! {
    Office = 1, "office", "Cơ quan, văn phòng", "Office", 540;
    Factory = 2, "factory", "Nhà máy, khu công nghiệp", "Factory / industrial zone", 600;
    Restaurant = 3, "restaurant", "Nhà hàng, quán ăn", "Restaurant", 120;
    BarKaraoke = 4, "bar-karaoke", "Quán bar, karaoke, massage", "Bar / karaoke / massage", 240;
    Gym = 5, "gym", "Phòng tập thể dục", "Gym", 120;
    Meeting = 6, "meeting", "Hội họp, hội nghị", "Meeting / conference", 480;
    HospitalClinic = 7, "hospital", "Bệnh viện, phòng khám", "Hospital / clinic", 240;
    Apartment = 8, "apartment", "Chung cư", "Apartment block", 720;
    School = 9, "school", "Trường học", "School", 540;
    BusStation = 10, "bus-station", "Bến xe", "Bus station", 120;
    PublicTransport = 11, "public-transport", "Phương tiện giao thông công cộng", "Public transport vehicle", 240;
    MallSupermarket = 12, "mall", "Trung tâm thương mại, siêu thị", "Mall / supermarket", 180;
    Market = 13, "market", "Chợ", "Market", 120;
    Wedding = 14, "wedding", "Đám cưới", "Wedding", 300;
    Funeral = 15, "funeral", "Đám tang", "Funeral", 240;
    TouristSite = 16, "tourist-site", "Điểm du lịch", "Tourist site", 240;
    ReligiousSite = 17, "religious-site", "Cơ sở tôn giáo", "Religious site", 180;
    Other = 18, "other", "Khác", "Other", 180;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_slugs_round_trip() {
        for &c in Category::ALL {
            assert_eq!(Category::from_byte(c.to_byte()), Ok(c));
            assert_eq!(Category::from_slug(c.slug()), Some(c));
            assert!(c.default_max_stay_minutes() > 0);
        }
        assert!(Category::from_byte(0).is_err());
        assert!(Category::from_byte(200).is_err());
        assert_eq!(Category::ALL.len(), 18);
    }
}
