-- MariaDB dump 10.19  Distrib 10.5.29-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: ukwiki
-- ------------------------------------------------------
-- Server version	10.11.13-MariaDB-log
-- wikidrop sample data: this project's own made-up page_props for samples/ukwiki-20261101-pages-articles.xml.bz2

/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET TIME_ZONE='+00:00' */;

DROP TABLE IF EXISTS `page_props`;
CREATE TABLE `page_props` (
  `pp_page` int(10) unsigned NOT NULL,
  `pp_propname` varbinary(60) NOT NULL DEFAULT '',
  `pp_value` blob NOT NULL,
  `pp_sortkey` float DEFAULT NULL,
  PRIMARY KEY (`pp_page`,`pp_propname`),
  UNIQUE KEY `pp_propname_page` (`pp_propname`,`pp_page`),
  UNIQUE KEY `pp_propname_sortkey_page` (`pp_propname`,`pp_sortkey`,`pp_page`)
) ENGINE=InnoDB DEFAULT CHARSET=binary ROW_FORMAT=COMPRESSED;

/*!40000 ALTER TABLE `page_props` DISABLE KEYS */;
INSERT INTO `page_props` VALUES (2,'kartographer_frames','1',NULL),(2,'page_image_free','Софійський_собор_навесні.jpg',NULL),(2,'wikibase_item','Q1899',NULL),(3,'wikibase_item','Q40855',NULL),(4,'disambiguation','',NULL),(4,'wikibase_item','Q228264',NULL),(5,'defaultsort','Шевченко Тарас Григорович',NULL),(5,'page_image_free','Shevchenko_self_portrait_1840.jpg',NULL),(5,'wikibase_item','Q134958',NULL),(6,'defaultsort','Українка Леся',NULL),(6,'wikibase_item','Q191130',NULL),(7,'wikibase_item','Q1431',NULL),(8,'wikibase_item','Q193208',NULL),(9,'wikibase_item','Q13359',NULL),(10,'wikibase_item','Q1190',NULL),(11,'kartographer_frames','1',NULL);
INSERT INTO `page_props` VALUES (11,'wikibase_item','Q1874',NULL),(12,'wikibase_item','Q166',NULL),(13,'wikibase_item','Q42308',NULL),(14,'defaultsort','Франко Іван Якович',NULL),(14,'wikibase_item','Q312560',NULL),(15,'page_image_free','Софійський_собор_навесні.jpg',NULL),(15,'wikibase_item','Q188373',NULL),(16,'wikibase_item','Q208624',NULL),(17,'notoc','',NULL),(17,'wikibase_item','Q2516837',NULL),(18,'wikibase_item','Q36036',NULL),(19,'wikibase_item','Q925',NULL),(20,'wikibase_item','Q308',NULL),(25,'wikibase_item','Q5626287',NULL),(27,'wikibase_item','Q7247785',NULL),(28,'wikibase_item','Q2361520',NULL),(29,'wikibase_item','Q4182208',NULL);
/*!40000 ALTER TABLE `page_props` ENABLE KEYS */;

-- Dump completed on 2026-11-02  3:14:15
